import type { JobStats } from '../../core/engine/engine.ts';
import { LatencyHistogram } from '../../core/latency.ts';
import { partitionKey } from '../../core/partition.ts';
import { EventTimeLatency, type EventTimeSummary } from '../eventLatency.ts';
import type { PartitionLag } from '../progress.ts';
import type { ThreadReport } from './protocol.ts';

/**
 * The stats of a job run as stream threads, from each thread's latest report: counters add up,
 * latency percentiles come from the threads' histograms added together (percentiles of parts do
 * not combine), and the active span runs from the first thread's first record to the last
 * thread's last record done. `peakInFlight` is the sum of the threads' peaks (an upper bound:
 * they need not peak at once). `elapsedMs` is the caller's, the whole run's.
 *
 * @example
 * const stats = mergeStats([first.report, second.report], performance.now() - startedAt);
 */
export function mergeStats(reports: readonly ThreadReport[], elapsedMs: number): JobStats {
  const latency = new LatencyHistogram();
  let start = Infinity;
  let end = -Infinity;
  const sum = { in: 0, out: 0, deadLettered: 0, dropped: 0, inFlight: 0, peakInFlight: 0, skipped: 0, checkpoints: 0, counted: 0 };
  for (const { stats, latency: encoded, firstInAt } of reports) {
    for (const field of Object.keys(sum) as Array<keyof typeof sum>) sum[field] += stats[field];
    latency.add(LatencyHistogram.decode(encoded));
    if (firstInAt !== undefined && stats.activeMs > 0) {
      start = Math.min(start, firstInAt);
      end = Math.max(end, firstInAt + stats.activeMs);
    }
  }
  return { ...sum, elapsedMs, activeMs: end > start ? end - start : 0, latency: latency.summary() };
}

/**
 * The event-time latency of a job run as stream threads: the threads' histograms added
 * together (as {@link mergeStats} does for admission latency), records left out summed.
 *
 * @example
 * formatSummary(job.name, stats, label, mergeEventTime(reports));
 */
export function mergeEventTime(reports: readonly ThreadReport[]): EventTimeSummary {
  const all = new EventTimeLatency();
  for (const report of reports) all.add(report.eventTime);
  return all.summary();
}

/**
 * The consumer lag of every partition the live threads read, for the one progress line. A
 * partition is one thread's at a time; while a rebalance hands it over two reports may name it,
 * and the newer report's figure stands. Pass only live threads' reports: a failed thread's last
 * figures are stale.
 *
 * @example
 * formatLag(mergeLag([first.report, second.report])) // "lag 1,200 (p3 700, p0 500, 2 at 0)"
 */
export function mergeLag(reports: readonly ThreadReport[]): PartitionLag {
  const lag = new Map<string, { topic: string; partition: number; lag: number }>();
  for (const report of [...reports].sort((a, b) => a.at - b.at)) {
    for (const entry of report.lag) lag.set(partitionKey(entry.topic, entry.partition), { ...entry });
  }
  return lag;
}
