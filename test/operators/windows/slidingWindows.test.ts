import { test } from 'node:test';
import assert from 'node:assert/strict';
import { map } from 'rxjs';
import { TestClock } from '../../../core/clock.ts';
import { InvalidOptionError } from '../../../core/errors.ts';
import { SlidingEventTimeWindows } from '../../../operators/windows/slidingWindows.ts';
import { windowAggregate } from '../../../operators/windows/windowAggregate.ts';
import { WindowOperator } from '../../../operators/windows/windowOperator.ts';
import { describe, Records, sum, testScheduler, type Row } from './fixtures.ts';

test('a record belongs to size / slide windows, newest first', () => {
  const w = new SlidingEventTimeWindows(10_000, 5_000);
  assert.deepEqual(w.assignWindows(12_000).map((x) => [x.start, x.end]), [[10_000, 20_000], [5_000, 15_000]]);
  assert.deepEqual(w.assignWindows(10_000).map((x) => [x.start, x.end]), [[10_000, 20_000], [5_000, 15_000]]);
  assert.deepEqual(new SlidingEventTimeWindows(3_000, 1_000).assignWindows(2_500).map((x) => x.start), [2_000, 1_000, 0]);
  assert.throws(() => new SlidingEventTimeWindows(5_000, 10_000), InvalidOptionError);
});

test('sliding windows against a hand-computed run, with an out-of-order record and a late one', () => {
  const rows: Record<string, Row> = {
    a: { key: 'a', ts: 1_000, value: 1 }, // [0,10s) and [-5s,5s)
    b: { key: 'a', ts: 6_000, value: 2 }, // [5s,15s) and [0,10s); watermark 5_999 fires [-5s,5s) = 1
    c: { key: 'a', ts: 11_000, value: 3 }, // [10s,20s) and [5s,15s); watermark 10_999 fires [0,10s) = 1+2
    d: { key: 'a', ts: 4_000, value: 4 }, // both its windows are past (lateness 0): side output
    e: { key: 'a', ts: 9_000, value: 5 }, // [0,10s) is gone, but [5s,15s) is open: it counts there only
    f: { key: 'a', ts: 14_000, value: 6 }, // [10s,20s), [5s,15s); watermark 13_999
  };
  const records = new Records();
  const seen: string[] = [];
  const scheduler = testScheduler();
  scheduler.run(({ cold, flush }) => {
    const windows = new WindowOperator({ assigner: new SlidingEventTimeWindows(10_000, 5_000), aggregate: sum, watermarks: { maxOutOfOrdernessMs: 0, clock: new TestClock() } });
    cold('abcdef|', rows)
      .pipe(map((row) => records.make(row)), windowAggregate(windows))
      .subscribe((out) => {
        seen.push(`${scheduler.now()}: ${describe(out.value)}`);
        out.ticket.release();
      });
    flush();
  });
  assert.deepEqual(seen, [
    '1: a[-5000,5000)=1',
    '2: a[0,10000)=3',
    '3: late a@4000',
    // end of input: [5s,15s) = 2+3+5+6, then [10s,20s) = 3+6
    '6: a[5000,15000)=16',
    '6: a[10000,20000)=9',
  ]);
  assert.equal(records.tracker.totalPending, 0);
});
