import { requirePositiveInteger } from '../../core/errors.ts';
import { TimeWindow } from './timeWindow.ts';
import type { WindowAssigner } from './windowAssigner.ts';

/**
 * Sessions: a key's records at most `gapMs` apart fall in one window, which closes after
 * `gapMs` of event time without a record (Flink's `EventTimeSessionWindows.withGap`). Each
 * record gets `[t, t + gap)`; the window operator merges it with the key's windows it touches.
 *
 * @example
 * const sessions = new EventTimeSessionWindows(30 * 60_000);
 * sessions.assignWindows(1_000); // [[1_000, 1_801_000)]
 */
export class EventTimeSessionWindows implements WindowAssigner {
  readonly gapMs: number;
  readonly merging = true;

  constructor(gapMs: number) {
    this.gapMs = requirePositiveInteger('gapMs', gapMs);
  }

  assignWindows(timestamp: number): readonly TimeWindow[] {
    return [new TimeWindow(timestamp, timestamp + this.gapMs)];
  }

  describe(): string {
    return `sessions with a ${this.gapMs} ms gap`;
  }
}
