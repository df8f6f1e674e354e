import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedOutOfOrderness } from '../../../core/time/boundedOutOfOrderness.ts';

test('watermark = newest event time - bound - 1, -Infinity before any record', () => {
  const wm = new BoundedOutOfOrderness(5_000);
  assert.equal(wm.watermark, -Infinity);
  wm.observe(60_000);
  assert.equal(wm.watermark, 54_999);
  wm.observe(58_000);
  assert.equal(wm.watermark, 54_999, 'an older record does not move it');
  wm.observe(61_000);
  assert.equal(wm.watermark, 55_999);
});

test('a bound of 0 means in-order input: the watermark trails the newest record by 1 ms', () => {
  const wm = new BoundedOutOfOrderness(0);
  wm.observe(1_000);
  assert.equal(wm.watermark, 999);
});

test('snapshot and restore', () => {
  const wm = new BoundedOutOfOrderness(100);
  assert.deepEqual(wm.snapshot(), { maxTimestamp: null });
  wm.observe(1_000);
  const copy = new BoundedOutOfOrderness(100);
  copy.restore(JSON.parse(JSON.stringify(wm.snapshot())));
  assert.equal(copy.watermark, 899);
});
