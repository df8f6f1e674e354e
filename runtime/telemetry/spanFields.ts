import type { HrTime } from '@opentelemetry/api';

// How Sluice's own readings become span fields: times on one clock, reasons on one short line.

/** The longest dead-letter reason a span carries. */
export const MAX_REASON_LENGTH = 200;

/**
 * A reason as one line of at most {@link MAX_REASON_LENGTH} characters.
 *
 * @example
 * shortReason('first\n  second') // 'first second'
 */
export function shortReason(reason: string): string {
  const line = reason.replace(/\s*\n\s*/g, ' ');
  return line.length <= MAX_REASON_LENGTH ? line : `${line.slice(0, MAX_REASON_LENGTH - 1)}…`;
}

/**
 * An epoch-ms reading (as worker threads report) on this thread's performance clock.
 *
 * @example
 * fromEpoch(Date.now()) // about performance.now()
 */
export function fromEpoch(epochMs: number): number {
  return Math.min(epochMs - performance.timeOrigin, performance.now());
}

/**
 * A performance.now() reading as an absolute HrTime. Converted here, with one fixed origin,
 * rather than by the SDK: it re-derives the offset from Date.now() for every span, and that
 * millisecond jitter would put a stage before the one it follows.
 *
 * @example
 * span.end(hr(performance.now()));
 */
export function hr(performanceMs: number): HrTime {
  const epochMs = performance.timeOrigin + performanceMs;
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}
