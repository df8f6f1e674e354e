import { requireNonNegativeNumber } from '../../core/errors.ts';
import type { TimeWindow } from './timeWindow.ts';

/**
 * How long a window is kept after the watermark passed its end, so late records can still
 * update it (Flink's `allowedLateness`). A window is cleaned up, and a record for it goes to the
 * side output, once the watermark reaches `maxTimestamp + allowedLatenessMs`.
 *
 * @example
 * const lateness = new AllowedLateness(10_000);
 * lateness.isLate(new TimeWindow(0, 60_000), 69_998); // false: still updates the window
 * lateness.isLate(new TimeWindow(0, 60_000), 69_999); // true: side output
 */
export class AllowedLateness {
  readonly ms: number;

  constructor(ms = 0) {
    this.ms = requireNonNegativeNumber('allowedLatenessMs', ms);
  }

  /** Event time at which the window's state is dropped. */
  cleanupTime(window: TimeWindow): number {
    return window.maxTimestamp + this.ms;
  }

  /** The window is gone (or as good as): records for it are too late. */
  isLate(window: TimeWindow, watermark: number): boolean {
    return this.cleanupTime(window) <= watermark;
  }
}
