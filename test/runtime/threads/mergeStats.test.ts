import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobStats } from '../../../core/engine/engine.ts';
import { LatencyHistogram } from '../../../core/latency.ts';
import { EventTimeLatency } from '../../../runtime/eventLatency.ts';
import { formatLag, formatSummary } from '../../../runtime/progress.ts';
import { mergeEventTime, mergeLag, mergeStats } from '../../../runtime/threads/mergeStats.ts';
import type { ThreadReport } from '../../../runtime/threads/protocol.ts';

function report(values: number[], firstInAt: number | undefined, activeMs: number, counts: Partial<JobStats> = {}): ThreadReport {
  const latency = new LatencyHistogram();
  for (const value of values) latency.record(value);
  const stats: JobStats = { in: values.length, out: values.length, deadLettered: 0, dropped: 0, inFlight: 0, peakInFlight: 0, skipped: 0, checkpoints: 0, counted: 0, elapsedMs: 1, activeMs, latency: latency.summary(), ...counts };
  return { stats, latency: latency.encode(), firstInAt, eventTime: { histogram: '', outside: 0 }, lag: [], at: 0 };
}

/** A report whose event-time latencies are `values` (ms) and `outside` records left out. */
function eventTimes(values: number[], outside = 0): ThreadReport {
  const eventTime = new EventTimeLatency();
  const writtenAt = 1_800_000_000_000;
  eventTime.observe(values.map((ms) => ({ timestamp: writtenAt - ms }) as Parameters<EventTimeLatency['observe']>[0][number]), writtenAt);
  const encoded = eventTime.encode();
  return { ...report([], undefined, 0), eventTime: { ...encoded, outside: encoded.outside + outside } };
}

function lagReport(at: number, lag: ThreadReport['lag']): ThreadReport {
  return { ...report([], undefined, 0), lag, at };
}

describe('mergeStats: one summary of several stream threads', () => {
  it('adds the counters', () => {
    const merged = mergeStats([report([1, 2], 1000, 10, { deadLettered: 3, inFlight: 4, counted: 1 }), report([3], 1000, 10, { deadLettered: 1, inFlight: 2, counted: 5 })], 50);
    assert.deepEqual([merged.in, merged.out, merged.deadLettered, merged.inFlight, merged.counted, merged.elapsedMs], [3, 3, 4, 6, 6, 50]);
  });

  it('takes percentiles of all observations together, not of the threads\' percentiles', () => {
    // One thread fast (900 × 1 ms), one slow (100 × 100 ms): together p50 is 1 ms and p95 100 ms;
    // the mean or max of the two threads' p50s (1 and 100) would be wrong.
    const merged = mergeStats([report(Array(900).fill(1), 0, 1), report(Array(100).fill(100), 0, 1)], 1);
    assert.equal(merged.latency.count, 1000);
    assert.ok(Math.abs(merged.latency.p50 - 1) < 0.05, `p50 ${merged.latency.p50}`);
    assert.ok(Math.abs(merged.latency.p95 - 100) < 1, `p95 ${merged.latency.p95}`);
  });

  it('measures the active span from the first thread\'s first record to the last thread\'s last', () => {
    // Thread A active 1000..1400, thread B 1200..2000 (wall clock): together 1000..2000.
    const merged = mergeStats([report([1], 1000, 400), report([1], 1200, 800), report([], undefined, 0)], 5000);
    assert.equal(merged.activeMs, 1000);
  });

  it('merges event-time latency as one histogram of every thread\'s records, and sums those left out', () => {
    // As for admission latency: 900 records at 5 ms in one thread, 100 at 400 ms in the other.
    const summary = mergeEventTime([eventTimes(Array(900).fill(5), 3), eventTimes(Array(100).fill(400), 2)]);
    assert.equal(summary.latency.count, 1000);
    assert.equal(summary.outside, 5);
    assert.ok(Math.abs(summary.latency.p50 - 5) < 0.1, `p50 ${summary.latency.p50}`);
    assert.ok(Math.abs(summary.latency.p99 - 400) < 4, `p99 ${summary.latency.p99}`);
    const stats = mergeStats([report([1], 0, 1)], 1);
    assert.match(formatSummary('job', stats, undefined, summary), /\n {2}event time {2}p50 5\.\d\d ms, p95 40\d ms, p99 40\d ms, max 40\d ms \(event timestamp → written; 0\.5 % of records left out/);
  });

  it('shows the lag of every partition the threads read, the newer report\'s figure for one named twice', () => {
    const merged = mergeLag([
      lagReport(2000, [{ topic: 't', partition: 0, lag: 500 }, { topic: 't', partition: 1, lag: 0 }]),
      // Thread 2 reported p1 earlier (before a hand-over), and reads p2 and p3.
      lagReport(1000, [{ topic: 't', partition: 1, lag: 900 }, { topic: 't', partition: 2, lag: 700 }, { topic: 't', partition: 3, lag: 0 }]),
    ]);
    assert.equal(merged.size, 4);
    assert.equal(formatLag(merged), 'lag 1,200 (p2 700, p0 500, 2 at 0)');
  });
});
