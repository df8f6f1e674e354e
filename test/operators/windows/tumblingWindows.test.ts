import { test } from 'node:test';
import assert from 'node:assert/strict';
import { map } from 'rxjs';
import { TestClock } from '../../../core/clock.ts';
import { InvalidOptionError } from '../../../core/errors.ts';
import { TumblingEventTimeWindows } from '../../../operators/windows/tumblingWindows.ts';
import { windowAggregate } from '../../../operators/windows/windowAggregate.ts';
import { WindowOperator } from '../../../operators/windows/windowOperator.ts';
import { describe, Records, sum, testScheduler, type Row } from './fixtures.ts';

test('assigns each timestamp to exactly one window, negative times and offsets included', () => {
  const w = new TumblingEventTimeWindows(10_000);
  assert.deepEqual(w.assignWindows(0).map((x) => [x.start, x.end]), [[0, 10_000]]);
  assert.deepEqual(w.assignWindows(9_999).map((x) => [x.start, x.end]), [[0, 10_000]]);
  assert.deepEqual(w.assignWindows(10_000).map((x) => [x.start, x.end]), [[10_000, 20_000]]);
  assert.deepEqual(w.assignWindows(-1).map((x) => [x.start, x.end]), [[-10_000, 0]]);
  const shifted = new TumblingEventTimeWindows(10_000, 3_000);
  assert.deepEqual(shifted.assignWindows(12_000).map((x) => [x.start, x.end]), [[3_000, 13_000]]);
  assert.deepEqual(shifted.assignWindows(2_000).map((x) => [x.start, x.end]), [[-7_000, 3_000]]);
  assert.throws(() => new TumblingEventTimeWindows(0), new InvalidOptionError('sizeMs must be a positive integer (got 0)'));
});

test('tumbling windows fire when the watermark passes their end; out-of-order records count; late ones update or go to the side output', () => {
  const rows: Record<string, Row> = {
    a: { key: 'a', ts: 1_000, value: 1 },
    b: { key: 'b', ts: 4_000, value: 2 },
    c: { key: 'a', ts: 9_000, value: 3 }, // watermark 9_000 - 2_000 - 1 = 6_999
    d: { key: 'a', ts: 3_000, value: 4 }, // out of order, behind the watermark, but its window is open
    e: { key: 'a', ts: 12_500, value: 5 }, // watermark 10_499 >= 9_999: [0, 10s) fires for a and b
    f: { key: 'b', ts: 8_000, value: 10 }, // late, within 5 s of lateness: b's window updates and fires again
    g: { key: 'a', ts: 17_100, value: 6 }, // watermark 15_099 >= 9_999 + 5_000: [0, 10s) is cleaned up
    h: { key: 'a', ts: 9_500, value: 7 }, // too late: side output
  };
  const records = new Records();
  const seen: string[] = [];
  const scheduler = testScheduler();
  scheduler.run(({ cold, flush }) => {
    const windows = new WindowOperator({
      assigner: new TumblingEventTimeWindows(10_000),
      aggregate: sum,
      watermarks: { maxOutOfOrdernessMs: 2_000, clock: new TestClock() },
      allowedLatenessMs: 5_000,
    });
    cold('abcdefgh|', rows)
      .pipe(map((row) => records.make(row)), windowAggregate(windows))
      .subscribe((out) => {
        seen.push(`${scheduler.now()}: ${describe(out.value)}`);
        out.ticket.release(); // the sink wrote it
      });
    flush();
  });
  assert.deepEqual(seen, [
    '4: a[0,10000)=8',
    '4: b[0,10000)=2',
    '5: b[0,10000)=12#1',
    '7: late a@9500',
    '8: a[10000,20000)=11', // the end of the input fires what is still open
  ]);
  assert.equal(records.tracker.totalPending, 0, 'every record is done: absorbed, written as a result cause, or side output written');
});

test('at the end of a bounded input every open window fires, in event-time order', () => {
  const records = new Records();
  const seen: string[] = [];
  const windows = new WindowOperator({ assigner: new TumblingEventTimeWindows(10_000), aggregate: sum, watermarks: { maxOutOfOrdernessMs: 0, clock: new TestClock() } });
  testScheduler().run(({ cold, flush }) => {
    const rows: Record<string, Row> = { a: { key: 'k', ts: 25_000, value: 1 }, b: { key: 'k', ts: 5_000, value: 2 }, c: { key: 'j', ts: 21_000, value: 3 }, d: { key: 'j', ts: 42_000, value: 4 } };
    // b is late (the watermark 24_999 is past [0, 10s), lateness 0); d fires k's and j's [20s, 30s).
    cold('abcd|', rows).pipe(map((row) => records.make(row)), windowAggregate(windows)).subscribe((out) => {
      seen.push(describe(out.value));
      out.ticket.release();
    });
    flush();
  });
  // Windows due at the same watermark fire by key, whatever order they opened in.
  assert.deepEqual(seen, ['late k@5000', 'j[20000,30000)=3', 'k[20000,30000)=1', 'j[40000,50000)=4']);
  assert.equal(windows.openWindows, 0);
});

test("with atEnd: 'keep' the end of the input fires nothing and the windows stay for a snapshot", () => {
  const records = new Records();
  const windows = new WindowOperator({ assigner: new TumblingEventTimeWindows(10_000), aggregate: sum, watermarks: { maxOutOfOrdernessMs: 0, clock: new TestClock() }, atEnd: 'keep' });
  testScheduler().run(({ cold, expectObservable }) => {
    const output = cold('a|', { a: { key: 'k', ts: 1, value: 1 } }).pipe(map((row) => records.make(row)), windowAggregate(windows));
    expectObservable(output).toBe('-|');
  });
  assert.equal(windows.openWindows, 1);
  assert.deepEqual(windows.snapshot().windows, { 'tx/0': [['k', 0, 10_000, 1, 0]] });
});
