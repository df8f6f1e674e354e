import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletionTracker } from '../../core/completion.ts';
import { Instrumentation } from '../../core/instrumentation.ts';
import type { Envelope } from '../../core/record.ts';
import { EventTimeLatency, trackEventTimeLatency } from '../../runtime/eventLatency.ts';

const tracker = new CompletionTracker();
let offset = 0;
function written(timestamp: number): Envelope<unknown> {
  const position = { topic: 't', partition: 0, offset: offset++ };
  return { key: undefined, value: {}, timestamp, position, headers: {}, trace: undefined, receivedAt: 0, original: undefined, ticket: tracker.track(position) };
}

describe('event-time latency', () => {
  it('is the write time minus each event timestamp', () => {
    const eventTime = new EventTimeLatency();
    const writtenAt = 1_800_000_000_000;
    eventTime.observe([10, 20, 30, 40].map((ms) => written(writtenAt - ms)), writtenAt);
    const { latency, outside } = eventTime.summary();
    assert.equal(outside, 0);
    assert.equal(latency.count, 4);
    assert.ok(Math.abs(latency.p50 - 20) < 0.5, `p50 ${latency.p50}`);
    assert.ok(Math.abs(latency.max - 40) < 0.5, `max ${latency.max}`);
  });

  it('counts apart event times over an hour old or ahead of the clock, and takes a small skew as 0', () => {
    const eventTime = new EventTimeLatency();
    const writtenAt = 1_800_000_000_000;
    eventTime.observe([written(writtenAt - 2 * 3_600_000), written(writtenAt + 60_000), written(writtenAt + 200), written(writtenAt - 5)], writtenAt);
    const { latency, outside } = eventTime.summary();
    assert.equal(outside, 2);
    assert.equal(latency.count, 2);
    assert.ok(latency.p50 < 0.01, `a timestamp 200 ms ahead reads as 0, not ${latency.p50}`);
  });

  it('counts runs of equal event times, within and outside the range, as many records', () => {
    const eventTime = new EventTimeLatency();
    const writtenAt = 1_800_000_000_000;
    const times = [10, 10, 10, 30, 2 * 3_600_000, 2 * 3_600_000, 10].map((ms) => written(writtenAt - ms));
    eventTime.observe(times, writtenAt);
    const { latency, outside } = eventTime.summary();
    assert.equal(outside, 2);
    assert.equal(latency.count, 5);
    assert.ok(Math.abs(latency.p50 - 10) < 0.5, `p50 ${latency.p50}`);
    assert.ok(Math.abs(latency.max - 30) < 0.5, `max ${latency.max}`);
  });

  it('follows the sink.written events of a job', () => {
    const instrumentation = new Instrumentation();
    const eventTime = trackEventTimeLatency(instrumentation);
    instrumentation.emit('sink.written', { sink: 's', records: [written(Date.now() - 50)], startedAt: 0, endedAt: 0 });
    const { latency } = eventTime.summary();
    assert.equal(latency.count, 1);
    assert.ok(latency.p50 >= 49 && latency.p50 < 1000, `p50 ${latency.p50}`);
  });
});
