import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlightBudget } from '../../core/flowControl.ts';

describe('InFlightBudget', () => {
  it('rejects a capacity that is not a positive integer, with the exact message', () => {
    assert.throws(() => new InFlightBudget(0), { message: 'maxInFlight must be a positive integer (got 0)' });
  });

  it('makes a waiting source resume only when a slot is given back', async () => {
    const budget = new InFlightBudget(2);
    budget.take();
    budget.take();
    let resumed = false;
    const room = budget.whenAvailable().then(() => (resumed = true));
    await Promise.resolve();
    assert.equal(resumed, false);
    budget.give();
    await room;
    assert.equal(resumed, true);
    assert.equal(budget.peak, 2);
  });

  it('tells listeners when it fills and, once, when half of it is free again', () => {
    const budget = new InFlightBudget(4);
    const events: string[] = [];
    budget.listen({ onFull: () => events.push('full'), onResume: () => events.push('resume') });
    for (let i = 0; i < 4; i += 1) budget.take();
    assert.deepEqual(events, ['full']);
    budget.give(); // 3 in flight: a free slot, but not half the budget
    budget.take(); // full again while still holding: no second `full`
    budget.give();
    assert.deepEqual(events, ['full']);
    assert.equal(budget.holding, true);
    budget.give(); // 2 in flight: half free
    assert.deepEqual(events, ['full', 'resume']);
    budget.give();
    budget.give();
    assert.deepEqual(events, ['full', 'resume'], 'no resume without a full before it');
    assert.equal(budget.holding, false);
  });

  it('resolves whenEmpty only after the last slot is back', async () => {
    const budget = new InFlightBudget(3);
    budget.take();
    budget.take();
    let empty = false;
    const done = budget.whenEmpty().then(() => (empty = true));
    budget.give();
    await Promise.resolve();
    assert.equal(empty, false);
    budget.give();
    await done;
    assert.equal(empty, true);
  });
});
