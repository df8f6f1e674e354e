import { InvalidOptionError, requirePositiveInteger } from '../../core/errors.ts';
import { TimeWindow } from './timeWindow.ts';
import { windowStart, type WindowAssigner } from './windowAssigner.ts';

/**
 * Fixed-size, non-overlapping windows: each record belongs to exactly one
 * (Flink's `TumblingEventTimeWindows`). `offsetMs` shifts the grid, e.g. for time zones.
 *
 * @example
 * const perMinute = new TumblingEventTimeWindows(60_000);
 * perMinute.assignWindows(90_000); // [[60_000, 120_000)]
 */
export class TumblingEventTimeWindows implements WindowAssigner {
  readonly sizeMs: number;
  readonly offsetMs: number;
  readonly merging = false;

  constructor(sizeMs: number, offsetMs = 0) {
    this.sizeMs = requirePositiveInteger('sizeMs', sizeMs);
    if (!Number.isInteger(offsetMs) || Math.abs(offsetMs) >= sizeMs) {
      throw new InvalidOptionError(`offsetMs must be an integer smaller than sizeMs in absolute value (got ${String(offsetMs)})`);
    }
    this.offsetMs = offsetMs;
  }

  assignWindows(timestamp: number): readonly TimeWindow[] {
    const start = windowStart(timestamp, this.offsetMs, this.sizeMs);
    return [new TimeWindow(start, start + this.sizeMs)];
  }

  describe(): string {
    return `tumbling ${this.sizeMs} ms`;
  }
}
