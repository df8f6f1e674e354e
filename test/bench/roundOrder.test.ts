import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inRoundOrder, runInRoundOrder } from '../../bench/roundOrder.ts';

describe('round order', () => {
  it('reverses every second round', () => {
    assert.deepEqual([0, 1, 2, 3].map((round) => inRoundOrder(round, ['a', 'b', 'c']).join('')), ['abc', 'cba', 'abc', 'cba']);
  });

  it('runs the rows in the round order and gives their results in the rows\' own order', async () => {
    const ran: string[] = [];
    const row = (name: string) => async () => {
      ran.push(name);
      return name.toUpperCase();
    };
    assert.deepEqual(await runInRoundOrder(1, [row('a'), row('b'), row('c')]), ['A', 'B', 'C']);
    assert.deepEqual(ran, ['c', 'b', 'a']);
  });
});
