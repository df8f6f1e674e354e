import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../../core/clock.ts';
import { InvalidOptionError } from '../../../core/errors.ts';
import { WatermarkTracker } from '../../../core/time/watermarkTracker.ts';

const tracker = (clock = new TestClock(0), idleTimeoutMs?: number) => new WatermarkTracker({ maxOutOfOrdernessMs: 5_000, idleTimeoutMs, clock });

test('the job watermark is the minimum over partitions, each one newest event time - bound - 1', () => {
  const wm = tracker();
  assert.equal(wm.advance(), -Infinity);
  wm.observe('tx/0', 100_000);
  assert.equal(wm.advance(), 94_999);
  wm.observe('tx/1', 70_000);
  assert.equal(wm.advance(), 94_999, 'a partition that appears behind cannot move the watermark back');
  wm.observe('tx/0', 120_000);
  assert.equal(wm.advance(), 94_999, 'partition 1 (at 70_000) holds it back');
  wm.observe('tx/1', 110_000);
  assert.equal(wm.advance(), 104_999, 'now partition 1 is the lower one');
  wm.observe('tx/1', 90_000);
  assert.equal(wm.advance(), 104_999, 'an out-of-order record does not lower its partition');
});

test('observe alone does not move the watermark; advance does', () => {
  const wm = tracker();
  wm.observe('tx/0', 10_000);
  assert.equal(wm.current, -Infinity);
  wm.advance();
  assert.equal(wm.current, 4_999);
});

test('a registered partition holds the watermark back before its first record', () => {
  const wm = tracker();
  wm.register('tx/1');
  wm.observe('tx/0', 100_000);
  assert.equal(wm.advance(), -Infinity);
  wm.observe('tx/1', 50_000);
  assert.equal(wm.advance(), 44_999);
});

test('an idle partition stops holding the watermark back, and counts again when it wakes', () => {
  const clock = new TestClock(1_000);
  const wm = tracker(clock, 30_000);
  wm.observe('tx/0', 100_000);
  wm.observe('tx/1', 60_000);
  assert.equal(wm.advance(), 54_999);
  assert.equal(wm.nextIdleAt(), 31_000);

  clock.advance(20_000);
  wm.observe('tx/0', 130_000); // partition 0 stays active, partition 1 is silent
  assert.equal(wm.advance(), 54_999);
  assert.equal(wm.nextIdleAt(), 31_000, 'partition 1 turns idle first');

  clock.advance(9_999);
  assert.equal(wm.advance(), 54_999, 'one ms before the timeout it still holds');
  clock.advance(1);
  assert.equal(wm.advance(), 124_999, 'idle: only partition 0 counts');
  assert.deepEqual(wm.partitions().map((p) => [p.scope, p.idle]), [['tx/0', false], ['tx/1', true]]);
  assert.equal(wm.nextIdleAt(), 51_000);

  wm.observe('tx/1', 125_000); // wakes up ahead of partition 0's bound
  wm.observe('tx/0', 131_000);
  assert.equal(wm.advance(), 124_999, 'min(125_999, 119_999) would go back: the watermark stays');
  wm.observe('tx/1', 140_000);
  assert.equal(wm.advance(), 125_999, 'both active again: min(125_999, 134_999)');
});

test('when every partition is idle the watermark moves to the highest one', () => {
  const clock = new TestClock(0);
  const wm = tracker(clock, 1_000);
  wm.observe('tx/0', 100_000);
  wm.observe('tx/1', 60_000);
  assert.equal(wm.advance(), 54_999);
  clock.advance(1_000);
  assert.equal(wm.advance(), 94_999);
  assert.equal(wm.nextIdleAt(), undefined, 'nothing left to turn idle: no timer needed');
});

test('without an idle timeout a silent partition holds the watermark for ever', () => {
  const clock = new TestClock(0);
  const wm = tracker(clock);
  wm.observe('tx/0', 100_000);
  wm.observe('tx/1', 60_000);
  clock.advance(24 * 3600_000);
  assert.equal(wm.advance(), 54_999);
  assert.equal(wm.nextIdleAt(), undefined);
});

test('snapshot → JSON → restore gives the same watermark and partitions', () => {
  const wm = tracker();
  wm.observe('tx/0', 100_000);
  wm.observe('tx/1', 80_000);
  wm.advance();
  const snapshot = JSON.parse(JSON.stringify(wm.snapshot()));
  assert.deepEqual(snapshot, { watermark: 74_999, partitions: { 'tx/0': { maxTimestamp: 100_000 }, 'tx/1': { maxTimestamp: 80_000 } } });
  const restored = tracker();
  restored.restore(snapshot);
  assert.equal(restored.current, 74_999);
  restored.observe('tx/1', 90_000);
  assert.equal(restored.advance(), 84_999, 'partition 1 went on from 80_000 and partition 0 still counts');
});

test('a snapshot of some partitions; a fresh tracker snapshots as null', () => {
  assert.deepEqual(tracker().snapshot(), { watermark: null, partitions: {} });
  const wm = tracker();
  wm.observe('tx/0', 10_000);
  wm.observe('tx/1', 20_000);
  assert.deepEqual(wm.snapshot(['tx/1']).partitions, { 'tx/1': { maxTimestamp: 20_000 } });
  wm.drop('tx/0');
  assert.equal(wm.advance(), 14_999);
});

test('options are checked with exact messages', () => {
  assert.throws(() => new WatermarkTracker({ maxOutOfOrdernessMs: -1, clock: new TestClock() }), new InvalidOptionError('maxOutOfOrdernessMs must be a non-negative number (got -1)'));
  assert.throws(() => new WatermarkTracker({ maxOutOfOrdernessMs: 0, idleTimeoutMs: Number.NaN, clock: new TestClock() }), new InvalidOptionError('idleTimeoutMs must be a non-negative number (got NaN)'));
});
