import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forEachRun, LatencyHistogram } from '../../core/latency.ts';

describe('latency histogram', () => {
  it('records a count of equal observations as that many single ones', () => {
    const many = new LatencyHistogram();
    const one = new LatencyHistogram();
    many.record(2, 3);
    many.record(50, 1);
    for (const ms of [2, 2, 2, 50]) one.record(ms);
    assert.deepEqual(many.summary(), one.summary());
    assert.equal(many.count, 4);
  });
});

describe('forEachRun', () => {
  it('calls once per run of consecutive equal values, with the run length', () => {
    const runs: [number, number][] = [];
    forEachRun([5, 5, 5, 7, 5, 5, 9], (n) => n, (value, count) => runs.push([value, count]));
    assert.deepEqual(runs, [[5, 3], [7, 1], [5, 2], [9, 1]]);
  });

  it('counts every record exactly once, NaN and empty input included', () => {
    const runs: [number, number][] = [];
    forEachRun([NaN, NaN, 1], (n) => n, (value, count) => runs.push([value, count]));
    assert.equal(runs.reduce((sum, [, count]) => sum + count, 0), 3);
    forEachRun([], (n: number) => n, () => assert.fail('no records, no call'));
  });
});
