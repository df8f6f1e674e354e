import type { JobStats } from '../core/engine/engine.ts';
import type { Instrumentation } from '../core/instrumentation.ts';
import type { EventTimeSummary } from './eventLatency.ts';

/** The latest consumer lag of each partition (`source.lag`), by topic and partition. */
export type PartitionLag = ReadonlyMap<string, { readonly topic: string; readonly partition: number; readonly lag: number }>;

/**
 * The latest lag of each partition a job's Kafka sources report (`source.lag`). The consumer
 * learns a partition's end when it fetches, so while backpressure holds a large fetched batch the
 * figure can stand still although the backlog grows (a known gap; the committed lag is exact).
 *
 * @example
 * const lag = trackLag(telemetry.instrumentation);
 * formatProgress(stats, previous, undefined, lag);
 */
export function trackLag(instrumentation: Instrumentation): PartitionLag {
  const lag = new Map<string, { topic: string; partition: number; lag: number }>();
  instrumentation.on('source.lag', (event) => lag.set(`${event.topic}\u0000${event.partition}`, { topic: event.topic, partition: event.partition, lag: Math.max(0, event.lag) }));
  // A revoked partition is another member's now: its last figure would stay behind forever.
  instrumentation.on('source.rebalance', () => lag.clear());
  return lag;
}

/** Partitions named one by one in the progress line; the rest are counted. */
const LAG_SHOWN = 4;

/**
 * One line of live progress: throughput since the last line, latency percentiles, in flight,
 * and on Kafka the consumer lag (total, then the partitions furthest behind).
 *
 * @example
 * formatProgress(stats, previous, 'flagged') // "  152,340 ev/s | in 300,000 | out 299,000 | ..."
 */
export function formatProgress(stats: JobStats, previous: { in: number; elapsedMs: number }, countLabel: string | undefined, lag?: PartitionLag): string {
  const seconds = (stats.elapsedMs - previous.elapsedMs) / 1000;
  const rate = seconds > 0 ? (stats.in - previous.in) / seconds : 0;
  const parts = [
    `${number(rate)} ev/s`,
    `in ${number(stats.in)}`,
    `out ${number(stats.out)}`,
    `dead ${number(stats.deadLettered)}`,
    `in-flight ${number(stats.inFlight)}`,
    `p50 ${ms(stats.latency.p50)} p95 ${ms(stats.latency.p95)} p99 ${ms(stats.latency.p99)}`,
  ];
  if (countLabel !== undefined) parts.push(`${countLabel} ${number(stats.counted)}`);
  if (lag !== undefined && lag.size > 0) parts.push(formatLag(lag));
  return parts.join(' | ');
}

/**
 * Consumer lag for the progress line: the total, then the partitions furthest behind.
 *
 * @example
 * formatLag(lag) // "lag 12,400 (p3 5,000, p0 4,000, p7 3,000, p1 400, +4 at 0)"
 */
export function formatLag(lag: PartitionLag): string {
  const entries = [...lag.values()];
  const total = entries.reduce((sum, entry) => sum + entry.lag, 0);
  const oneTopic = new Set(entries.map((entry) => entry.topic)).size === 1;
  const behind = entries.filter((entry) => entry.lag > 0).sort((a, b) => b.lag - a.lag);
  const shown = behind.slice(0, LAG_SHOWN).map((entry) => `${oneTopic ? `p${entry.partition}` : `${entry.topic}[${entry.partition}]`} ${number(entry.lag)}`);
  const more = behind.length - shown.length;
  const idle = entries.length - behind.length;
  const rest = [more > 0 ? `+${more} more` : undefined, idle > 0 ? `${idle} at 0` : undefined].filter((part) => part !== undefined);
  return `lag ${number(total)} (${[...shown, ...rest].join(', ')})`;
}

/**
 * The closing summary, a few aligned lines: throughput over the active span (first record in →
 * last record done), latency from admission and, when given, from the event's own timestamp.
 *
 * @example
 * formatSummary('fraud-detection', await running.done, 'flagged', eventTime.summary())
 */
export function formatSummary(jobName: string, stats: JobStats, countLabel: string | undefined, eventTime?: EventTimeSummary): string {
  const seconds = stats.elapsedMs / 1000;
  const active = stats.activeMs / 1000;
  const lines = [
    `job ${jobName} finished in ${seconds.toFixed(1)} s`,
    `  events      ${number(stats.in)} in, ${number(stats.out)} out, ${number(stats.deadLettered)} dead-lettered, ${number(stats.dropped)} done without output (filtered, in windows)`,
    `  throughput  ${number(active > 0 ? stats.in / active : 0)} events/s over the active ${active.toFixed(2)} s (first record in → last record done)`,
    `  latency     p50 ${ms(stats.latency.p50)}, p95 ${ms(stats.latency.p95)}, p99 ${ms(stats.latency.p99)}, max ${ms(stats.latency.max)} (admission → written)`,
  ];
  if (eventTime !== undefined) lines.push(eventTimeLine(eventTime));
  lines.push(`  in flight   peak ${number(stats.peakInFlight)}`);
  if (stats.checkpoints > 0 || stats.skipped > 0) lines.push(`  checkpoints ${number(stats.checkpoints)} taken, ${number(stats.skipped)} replayed records skipped`);
  if (countLabel !== undefined) lines.push(`  ${countLabel.padEnd(11)} ${number(stats.counted)}`);
  return lines.join('\n');
}

function eventTimeLine({ latency, outside }: EventTimeSummary): string {
  const all = latency.count + outside;
  if (all === 0) return '  event time  no records written';
  if (latency.count === 0) return '  event time  not measured: every record\'s event time is over an hour old or ahead of this clock (replayed or generated times)';
  const left = outside === 0 ? '' : `; ${((outside / all) * 100).toFixed(1)} % of records left out, their event time over an hour old or ahead of this clock`;
  return `  event time  p50 ${ms(latency.p50)}, p95 ${ms(latency.p95)}, p99 ${ms(latency.p99)}, max ${ms(latency.max)} (event timestamp → written${left})`;
}

function number(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(2)} ms`;
}
