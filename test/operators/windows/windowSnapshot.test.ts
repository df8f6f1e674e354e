import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../../core/clock.ts';
import { Random } from '../../../jobs/fraud/random.ts';
import { EventTimeSessionWindows } from '../../../operators/windows/sessionWindows.ts';
import { SlidingEventTimeWindows } from '../../../operators/windows/slidingWindows.ts';
import { TumblingEventTimeWindows } from '../../../operators/windows/tumblingWindows.ts';
import type { WindowAssigner } from '../../../operators/windows/windowAssigner.ts';
import { WindowOperator, type WindowOperatorSnapshot } from '../../../operators/windows/windowOperator.ts';
import { describe, Records, sum, type Row } from './fixtures.ts';

/** An out-of-order stream over 3 partitions: jitter up to 6 s back, and 4% of records 20–60 s late. */
function stream(seed: number, count: number): Row[] {
  const rng = new Random(seed);
  const rows: Row[] = [];
  let now = 1_000_000;
  for (let i = 0; i < count; i++) {
    now += rng.int(400);
    const keyIndex = rng.int(12);
    const behind = rng.next() < 0.04 ? 20_000 + rng.int(40_000) : rng.int(6_000);
    rows.push({ key: `k${keyIndex}`, ts: now - behind, value: 1 + rng.int(100), partition: keyIndex % 3 });
  }
  return rows;
}

function operator(assigner: WindowAssigner): WindowOperator<number, number, number> {
  return new WindowOperator({ assigner, aggregate: sum, watermarks: { maxOutOfOrdernessMs: 3_000, clock: new TestClock() }, allowedLatenessMs: 5_000 });
}

function feed(windows: WindowOperator<number, number, number>, records: Records, rows: Row[], seen: string[]): void {
  const emit = (out: Parameters<Parameters<typeof windows.process>[1]>[0]) => {
    seen.push(describe(out.value));
    out.ticket.release();
  };
  for (const row of rows) windows.process(records.make(row), emit);
}

const assigners: Array<[string, () => WindowAssigner]> = [
  ['tumbling', () => new TumblingEventTimeWindows(10_000)],
  ['sliding', () => new SlidingEventTimeWindows(10_000, 2_500)],
  ['session', () => new EventTimeSessionWindows(1_500)],
];

for (const [name, assigner] of assigners) {
  test(`${name}: snapshot → JSON → restore into a new operator gives the same results as an uninterrupted run`, () => {
    const rows = stream(7, 3_000);
    const records = new Records();
    const uninterrupted: string[] = [];
    const whole = operator(assigner());
    feed(whole, records, rows, uninterrupted);
    whole.finish((out) => uninterrupted.push(describe(out.value)));
    assert.ok(uninterrupted.some((s) => s.startsWith('late')), 'the stream has late records');
    assert.ok(uninterrupted.some((s) => s.includes('#')), 'the stream has late updates');

    for (const cut of [1, 777, 1_500, 2_999]) {
      const seen: string[] = [];
      const before = operator(assigner());
      feed(before, records, rows.slice(0, cut), seen);
      const snapshot = JSON.parse(JSON.stringify(before.snapshot())) as WindowOperatorSnapshot;
      const after = operator(assigner()); // a new process: nothing but the checkpoint
      after.restore(snapshot);
      assert.deepEqual(after.snapshot(), snapshot, 'restore then snapshot is the identity');
      feed(after, records, rows.slice(cut), seen);
      after.finish((out) => seen.push(describe(out.value)));
      assert.deepEqual(seen, uninterrupted, `cut after ${cut} records`);
    }
  });
}

test('a snapshot is per source partition scope; restoring a scope replaces it and leaves the others', () => {
  const records = new Records();
  const windows = operator(new TumblingEventTimeWindows(10_000));
  feed(windows, records, [{ key: 'a', ts: 1_000, value: 1, partition: 0 }, { key: 'b', ts: 1_000, value: 2, partition: 1 }], []);
  const partOne = windows.snapshot(['tx/1']);
  assert.deepEqual(Object.keys(partOne.windows), ['tx/1']);
  assert.deepEqual(Object.keys(partOne.watermarks.partitions), ['tx/1']);
  feed(windows, records, [{ key: 'b', ts: 2_000, value: 5, partition: 1 }], []);
  windows.restore(partOne);
  assert.deepEqual(windows.snapshot().windows, { 'tx/0': [['a', 0, 10_000, 1, 0]], 'tx/1': [['b', 0, 10_000, 2, 0]] });
  windows.dropScope('tx/0');
  assert.deepEqual(Object.keys(windows.snapshot().windows), ['tx/1']);
  assert.equal(windows.openWindows, 1);
});
