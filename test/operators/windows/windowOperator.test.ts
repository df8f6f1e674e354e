import { test } from 'node:test';
import assert from 'node:assert/strict';
import { map } from 'rxjs';
import { TestClock } from '../../../core/clock.ts';
import { SluiceError } from '../../../core/errors.ts';
import type { Envelope } from '../../../core/record.ts';
import { schedulerClock } from '../../../core/time/schedulerClock.ts';
import { reducing } from '../../../operators/windows/aggregateFunction.ts';
import { routeLate } from '../../../operators/windows/routeLate.ts';
import { TumblingEventTimeWindows } from '../../../operators/windows/tumblingWindows.ts';
import { windowAggregate } from '../../../operators/windows/windowAggregate.ts';
import { WindowOperator } from '../../../operators/windows/windowOperator.ts';
import type { LateRecord, WindowOutput } from '../../../operators/windows/windowOutput.ts';
import { describe, Records, sum, testScheduler, type Row } from './fixtures.ts';

const tumbling = (options: { lateness?: number; bound?: number } = {}) =>
  new WindowOperator({
    assigner: new TumblingEventTimeWindows(10_000),
    aggregate: sum,
    watermarks: { maxOutOfOrdernessMs: options.bound ?? 0, clock: new TestClock() },
    allowedLatenessMs: options.lateness ?? 0,
  });

test('tickets: an absorbed record is done at once; a result holds the record that fired it; a late record travels with its own', () => {
  const records = new Records();
  const out: Envelope<WindowOutput<number, number>>[] = [];
  const emit = (o: Envelope<WindowOutput<number, number>>) => out.push(o);
  const windows = tumbling();
  const committable = () => records.tracker.committable('tx', 0);

  const r0 = records.make({ key: 'a', ts: 1_000, value: 1 });
  windows.process(r0, emit);
  assert.equal(r0.ticket.done, true, 'absorbed into the window: its effect now lives in window state');
  windows.process(records.make({ key: 'b', ts: 2_000, value: 2 }), emit);
  assert.equal(committable(), 1);

  const r2 = records.make({ key: 'a', ts: 12_000, value: 4 }); // fires a and b of [0, 10s)
  windows.process(r2, emit);
  assert.deepEqual(out.map((o) => describe(o.value)), ['a[0,10000)=1', 'b[0,10000)=2']);
  assert.equal(windows.pendingResults, 2);
  assert.equal(r2.ticket.done, false, 'held open by the two results it fired');
  assert.equal(committable(), 1);
  assert.equal(out[0]!.timestamp, 9_999, 'a result carries the window end as its event time');
  assert.deepEqual(out[0]!.position, r2.position);
  out[0]!.ticket.release();
  assert.equal(committable(), 1);
  out[1]!.ticket.release();
  assert.equal(r2.ticket.done, true);
  assert.equal(committable(), 2);
  assert.equal(windows.pendingResults, 0);
  assert.throws(() => out[1]!.ticket.release(), /released twice/);

  const r3 = records.make({ key: 'a', ts: 3_000, value: 8 }); // too late
  windows.process(r3, emit);
  const late = out[2]!;
  assert.equal(late.value.kind, 'late');
  assert.equal(late.ticket, r3.ticket, 'the side output carries the record ticket: done when the side output is written');
  assert.equal(committable(), 2);
  late.ticket.release();
  assert.equal(committable(), 3);
  assert.deepEqual({ ...(late.value as LateRecord<number>), message: undefined }, { kind: 'late', reason: 'late', message: undefined, key: 'a', value: 8, timestamp: 3_000, watermark: 11_999 });
});

test('a record with an invalid event time goes to the side output and does not move the watermark', () => {
  const records = new Records();
  const out: Envelope<WindowOutput<number, number>>[] = [];
  const windows = new WindowOperator({
    assigner: new TumblingEventTimeWindows(10_000),
    aggregate: sum,
    watermarks: { maxOutOfOrdernessMs: 0, clock: new TestClock() },
    timestamp: (value) => (value < 0 ? Number.NaN : value * 1_000),
  });
  windows.process(records.make({ key: 'a', ts: 0, value: 3 }), (o) => out.push(o));
  windows.process(records.make({ key: 'a', ts: 0, value: -1 }), (o) => out.push(o));
  const bad = out[0]!.value as LateRecord<number>;
  assert.equal(bad.reason, 'invalid-timestamp');
  assert.equal(bad.timestamp, null);
  assert.match(bad.message, /got NaN/);
  assert.equal(windows.watermark, 2_999, 'from the extractor (3 * 1000), not the envelope');
});

test('records without a key stop the stream with a message that says what to do', () => {
  const records = new Records();
  const unkeyed = { ...records.make({ key: 'x', ts: 0, value: 1 }), key: undefined };
  assert.throws(() => tumbling().process(unkeyed, () => {}), new SluiceError('window operator needs keyed records: put keyBy(...) before windowAggregate(...)'));
});

test('an idle partition stops holding windows back: they fire on a processing-time timer, in virtual time', () => {
  const rows: Record<string, Row> = {
    a: { key: 'a', ts: 1_000, value: 1, partition: 0 },
    b: { key: 'b', ts: 2_000, value: 2, partition: 1 },
    c: { key: 'a', ts: 15_000, value: 4, partition: 0 }, // partition 1 (at 2s) holds the watermark at 1_999
    d: { key: 'b', ts: 25_000, value: 8, partition: 1 }, // partition 0 has been idle since 102: only partition 1 counts
  };
  const records = new Records();
  const seen: string[] = [];
  const scheduler = testScheduler();
  scheduler.run(({ cold, flush }) => {
    const windows = new WindowOperator({
      assigner: new TumblingEventTimeWindows(10_000),
      aggregate: sum,
      watermarks: { maxOutOfOrdernessMs: 0, idleTimeoutMs: 100, clock: schedulerClock(scheduler) },
    });
    cold('abc 197ms d|', rows)
      .pipe(map((row) => records.make(row)), windowAggregate(windows))
      .subscribe((out) => {
        seen.push(`${scheduler.now()}: ${describe(out.value)}`);
        out.ticket.release();
      });
    flush();
  });
  assert.deepEqual(seen, [
    '101: a[0,10000)=1', // partition 1 idle since 1 + 100: the watermark moves to partition 0's 14_999
    '101: b[0,10000)=2',
    '200: a[10000,20000)=4',
    '201: b[20000,30000)=8', // end of input
  ]);
  assert.equal(records.tracker.totalPending, 0);
});

test('without an idle timeout a silent partition holds every window until the end of the input', () => {
  const records = new Records();
  const seen: string[] = [];
  const scheduler = testScheduler();
  scheduler.run(({ cold, flush }) => {
    const windows = new WindowOperator({ assigner: new TumblingEventTimeWindows(10_000), aggregate: sum, watermarks: { maxOutOfOrdernessMs: 0, clock: schedulerClock(scheduler) } });
    cold('ab 500ms c|', { a: { key: 'a', ts: 1_000, value: 1, partition: 0 }, b: { key: 'b', ts: 2_000, value: 2, partition: 1 }, c: { key: 'a', ts: 15_000, value: 4, partition: 0 } })
      .pipe(map((row) => records.make(row)), windowAggregate(windows))
      .subscribe((out) => {
        seen.push(`${scheduler.now()}: ${describe(out.value)}`);
        out.ticket.release();
      });
    flush();
  });
  assert.deepEqual(seen, ['503: a[0,10000)=1', '503: b[0,10000)=2', '503: a[10000,20000)=4']);
});

test('routeLate passes results on and hands the side output to its callback', () => {
  const records = new Records();
  const lates: string[] = [];
  testScheduler().run(({ cold, expectObservable }) => {
    const output = cold('abc|', { a: { key: 'a', ts: 1_000, value: 1 }, b: { key: 'a', ts: 11_000, value: 2 }, c: { key: 'a', ts: 500, value: 4 } }).pipe(
      map((row) => records.make(row)),
      windowAggregate(tumbling()),
      // routeLate releases the late record once its callback returned.
      routeLate((late) => lates.push(`${late.value.key}@${late.value.timestamp}`)),
      map((out) => describe(out.value)),
    );
    expectObservable(output).toBe('-x-(y|)', { x: 'a[0,10000)=1', y: 'a[10000,20000)=2' });
  });
  assert.deepEqual(lates, ['a@500']);
  assert.equal(records.tracker.totalPending, 1, 'the late record is done; only the record that fired the first window waits for its result to be written');
});

test('reducing() turns a reduce function into an aggregate', () => {
  const records = new Records();
  const out: string[] = [];
  const windows = new WindowOperator({ assigner: new TumblingEventTimeWindows(10_000), aggregate: reducing((a: number, b: number) => Math.max(a, b)), watermarks: { maxOutOfOrdernessMs: 0, clock: new TestClock() } });
  for (const row of [{ key: 'a', ts: 1, value: 3 }, { key: 'a', ts: 2, value: 9 }, { key: 'a', ts: 3, value: 4 }]) windows.process(records.make(row), () => {});
  windows.finish((o) => out.push(describe(o.value as WindowOutput<number, number>)));
  assert.deepEqual(out, ['a[0,10000)=9']);
});
