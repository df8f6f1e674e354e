import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobStats } from '../../../core/engine/engine.ts';
import { LatencyHistogram } from '../../../core/latency.ts';
import { mergeStats } from '../../../runtime/threads/mergeStats.ts';
import type { ThreadReport } from '../../../runtime/threads/protocol.ts';

function report(values: number[], firstInAt: number | undefined, activeMs: number, counts: Partial<JobStats> = {}): ThreadReport {
  const latency = new LatencyHistogram();
  for (const value of values) latency.record(value);
  const stats: JobStats = { in: values.length, out: values.length, deadLettered: 0, dropped: 0, inFlight: 0, peakInFlight: 0, skipped: 0, checkpoints: 0, counted: 0, elapsedMs: 1, activeMs, latency: latency.summary(), ...counts };
  return { stats, latency: latency.encode(), firstInAt };
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
});
