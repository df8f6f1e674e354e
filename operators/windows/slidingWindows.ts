import { InvalidOptionError, requirePositiveInteger } from '../../core/errors.ts';
import { TimeWindow } from './timeWindow.ts';
import { windowStart, type WindowAssigner } from './windowAssigner.ts';

/**
 * Windows of `sizeMs` starting every `slideMs`: a record belongs to `sizeMs / slideMs` of them
 * (Flink's `SlidingEventTimeWindows`). "Last 10 minutes, every minute" is size 600_000, slide 60_000.
 *
 * @example
 * const windows = new SlidingEventTimeWindows(10_000, 5_000);
 * windows.assignWindows(12_000); // [[10_000, 20_000), [5_000, 15_000)]
 */
export class SlidingEventTimeWindows implements WindowAssigner {
  readonly sizeMs: number;
  readonly slideMs: number;
  readonly offsetMs: number;
  readonly merging = false;

  constructor(sizeMs: number, slideMs: number, offsetMs = 0) {
    this.sizeMs = requirePositiveInteger('sizeMs', sizeMs);
    this.slideMs = requirePositiveInteger('slideMs', slideMs);
    if (slideMs > sizeMs) throw new InvalidOptionError(`slideMs must not exceed sizeMs (got slideMs ${slideMs}, sizeMs ${sizeMs}): records between windows would belong to none`);
    if (!Number.isInteger(offsetMs) || Math.abs(offsetMs) >= slideMs) {
      throw new InvalidOptionError(`offsetMs must be an integer smaller than slideMs in absolute value (got ${String(offsetMs)})`);
    }
    this.offsetMs = offsetMs;
  }

  /** Newest window first, as Flink lists them. */
  assignWindows(timestamp: number): readonly TimeWindow[] {
    const windows: TimeWindow[] = [];
    const lastStart = windowStart(timestamp, this.offsetMs, this.slideMs);
    for (let start = lastStart; start > timestamp - this.sizeMs; start -= this.slideMs) {
      windows.push(new TimeWindow(start, start + this.sizeMs));
    }
    return windows;
  }

  describe(): string {
    return `sliding ${this.sizeMs} ms every ${this.slideMs} ms`;
  }
}
