import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogHistogram } from '../../../runtime/ui/windowMeter.ts';

describe('LogHistogram', () => {
  it('records a count of equal times as that many single ones', () => {
    const many = new LogHistogram();
    const one = new LogHistogram();
    many.record(0.4, 3);
    many.record(12, 1);
    for (const ms of [0.4, 0.4, 0.4, 12]) one.record(ms);
    assert.deepEqual(many.percentiles(true), one.percentiles(true));
    assert.equal(many.count, 4);
  });
});
