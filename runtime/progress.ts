import type { JobStats } from '../core/engine/engine.ts';

/**
 * One line of live progress: throughput since the last line, latency percentiles, in flight.
 *
 * @example
 * formatProgress(stats, previous, 'flagged') // "  152,340 ev/s | in 300,000 | out 299,000 | ..."
 */
export function formatProgress(stats: JobStats, previous: { in: number; elapsedMs: number }, countLabel: string | undefined): string {
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
  return parts.join(' | ');
}

/** The closing summary, a few aligned lines. */
export function formatSummary(jobName: string, stats: JobStats, countLabel: string | undefined): string {
  const seconds = stats.elapsedMs / 1000;
  const active = stats.activeMs / 1000;
  const lines = [
    `job ${jobName} finished in ${seconds.toFixed(1)} s`,
    `  events      ${number(stats.in)} in, ${number(stats.out)} out, ${number(stats.deadLettered)} dead-lettered, ${number(stats.dropped)} done without output (filtered, in windows)`,
    `  throughput  ${number(active > 0 ? stats.in / active : 0)} events/s over the active ${active.toFixed(2)} s (first record in → last record done)`,
    `  latency     p50 ${ms(stats.latency.p50)}, p95 ${ms(stats.latency.p95)}, p99 ${ms(stats.latency.p99)}, max ${ms(stats.latency.max)} (admission → written)`,
    `  in flight   peak ${number(stats.peakInFlight)}`,
  ];
  if (stats.checkpoints > 0 || stats.skipped > 0) lines.push(`  checkpoints ${number(stats.checkpoints)} taken, ${number(stats.skipped)} replayed records skipped`);
  if (countLabel !== undefined) lines.push(`  ${countLabel.padEnd(11)} ${number(stats.counted)}`);
  return lines.join('\n');
}

function number(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : `${value.toFixed(2)} ms`;
}
