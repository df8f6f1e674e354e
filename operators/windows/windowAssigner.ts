import type { TimeWindow } from './timeWindow.ts';

/**
 * Decides which windows a record belongs to, from its event time (Flink's `WindowAssigner`).
 * Merging assigners (sessions) give each record a window of its own, which the window operator
 * merges with the key's windows it touches.
 */
export interface WindowAssigner {
  assignWindows(timestamp: number): readonly TimeWindow[];
  /** True when windows of one key merge as records arrive (sessions). */
  readonly merging: boolean;
  /** For messages: "tumbling 60000 ms". */
  describe(): string;
}

/** The start of the window of size/slide `step` holding `timestamp` (Flink's `getWindowStartWithOffset`). */
export function windowStart(timestamp: number, offsetMs: number, stepMs: number): number {
  const remainder = (timestamp - offsetMs) % stepMs;
  return remainder < 0 ? timestamp - (remainder + stepMs) : timestamp - remainder;
}
