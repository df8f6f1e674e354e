import { test } from 'node:test';
import assert from 'node:assert/strict';
import { map } from 'rxjs';
import { TestClock } from '../../../core/clock.ts';
import { InvalidOptionError } from '../../../core/errors.ts';
import { EventTimeSessionWindows } from '../../../operators/windows/sessionWindows.ts';
import { windowAggregate } from '../../../operators/windows/windowAggregate.ts';
import { WindowOperator } from '../../../operators/windows/windowOperator.ts';
import { describe, Records, sum, testScheduler, type Row } from './fixtures.ts';

function run(rows: Record<string, Row>, marbles: string, allowedLatenessMs: number): string[] {
  const records = new Records();
  const seen: string[] = [];
  const scheduler = testScheduler();
  scheduler.run(({ cold, flush }) => {
    const windows = new WindowOperator({
      assigner: new EventTimeSessionWindows(5_000),
      aggregate: sum,
      watermarks: { maxOutOfOrdernessMs: 1_000, clock: new TestClock() },
      allowedLatenessMs,
    });
    cold(marbles, rows)
      .pipe(map((row) => records.make(row)), windowAggregate(windows))
      .subscribe((out) => {
        seen.push(`${scheduler.now()}: ${describe(out.value)}`);
        out.ticket.release();
      });
    flush();
  });
  assert.equal(records.tracker.totalPending, 0);
  return seen;
}

test('records less than a gap apart form one session per key; a session closes after a gap of event time', () => {
  const seen = run({
    a: { key: 'a', ts: 1_000, value: 1 }, // [1s, 6s)
    b: { key: 'b', ts: 2_000, value: 10 }, // b: [2s, 7s)
    c: { key: 'a', ts: 4_000, value: 2 }, // merges: a [1s, 9s)
    d: { key: 'a', ts: 3_000, value: 4 }, // out of order, inside: a [1s, 9s)
    e: { key: 'a', ts: 9_000, value: 8 }, // touches the end (9s): a [1s, 14s); watermark 7_999 fires b [2s, 7s)
    f: { key: 'b', ts: 30_000, value: 20 }, // watermark 28_999: a [1s, 14s) = 1+2+4+8 fires
  }, 'abcdef|', 0);
  assert.deepEqual(seen, ['4: b[2000,7000)=10', '5: a[1000,14000)=15', '6: b[30000,35000)=20']);
});

test('a late record within the lateness merges into a fired session and re-emits it; one past it goes to the side output', () => {
  const seen = run({
    a: { key: 'a', ts: 1_000, value: 1 }, // a [1s, 6s)
    b: { key: 'a', ts: 4_000, value: 2 }, // a [1s, 9s)
    c: { key: 'a', ts: 20_000, value: 4 }, // watermark 18_999: a [1s, 9s) = 3 fires; kept until 8_999 + 15_000
    d: { key: 'a', ts: 7_000, value: 8 }, // late: merges into a [1s, 12s), already due: fires again = 11
    e: { key: 'b', ts: 2_000, value: 16 }, // late for the watermark but within lateness: a new session, due at once
    f: { key: 'a', ts: 40_000, value: 32 }, // watermark 38_999: a [20s, 25s) fires; the old sessions are cleaned up
    g: { key: 'a', ts: 1_500, value: 64 }, // [1.5s, 6.5s) + 15 s <= 38_999: side output
  }, 'abcdefg|', 15_000);
  assert.deepEqual(seen, [
    '2: a[1000,9000)=3',
    '3: a[1000,12000)=11#1',
    '4: b[2000,7000)=16',
    '5: a[20000,25000)=4',
    '6: late a@1500',
    '7: a[40000,45000)=32',
  ]);
});

test('a record that bridges two sessions merges them into one', () => {
  const seen = run({
    a: { key: 'a', ts: 1_000, value: 1 }, // [1s, 6s)
    b: { key: 'a', ts: 6_500, value: 2 }, // [6.5s, 11.5s): does not touch the first
    c: { key: 'a', ts: 3_000, value: 4 }, // [3s, 8s) touches both: [1s, 11.5s)
  }, 'abc|', 0);
  assert.deepEqual(seen, ['3: a[1000,11500)=7']);
});

test('bridging a session that already fired re-emits the merged session as an update', () => {
  const seen = run({
    a: { key: 'a', ts: 1_000, value: 1 }, // [1s, 6s)
    b: { key: 'a', ts: 10_000, value: 2 }, // watermark 8_999: [1s, 6s) fires, kept for 10 s of lateness
    c: { key: 'a', ts: 5_500, value: 4 }, // touches both: [1s, 15s), not due yet
  }, 'abc|', 10_000);
  assert.deepEqual(seen, ['1: a[1000,6000)=1', '3: a[1000,15000)=7#1']);
});

test('sessions need an aggregate that can merge', () => {
  assert.throws(
    () => new WindowOperator({ assigner: new EventTimeSessionWindows(1_000), aggregate: { createAccumulator: () => 0, add: (v: number, a: number) => a + v, getResult: (a: number) => a }, watermarks: { maxOutOfOrdernessMs: 0, clock: new TestClock() } }),
    new InvalidOptionError('sessions with a 1000 ms gap merge windows: the aggregate function needs a merge(a, b) method'),
  );
});
