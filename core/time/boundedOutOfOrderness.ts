import { requireNonNegativeNumber } from '../errors.ts';

/**
 * The watermark of one stream whose records arrive at most `maxOutOfOrdernessMs` behind the
 * newest one seen (Flink's `BoundedOutOfOrdernessWatermarks`). A watermark W promises that no
 * record with event time <= W is still expected; here W = newest timestamp - bound - 1, and
 * -Infinity before the first record.
 *
 * @example
 * const wm = new BoundedOutOfOrderness(5_000);
 * wm.observe(60_000);
 * wm.watermark; // 54_999: a record at 55_000 is still on time, one at 54_999 is late
 */
export class BoundedOutOfOrderness {
  readonly maxOutOfOrdernessMs: number;
  #maxTimestamp = -Infinity;

  constructor(maxOutOfOrdernessMs: number) {
    this.maxOutOfOrdernessMs = requireNonNegativeNumber('maxOutOfOrdernessMs', maxOutOfOrdernessMs);
  }

  /** Takes a record's event time into account. */
  observe(timestamp: number): void {
    if (timestamp > this.#maxTimestamp) this.#maxTimestamp = timestamp;
  }

  /** The newest event time seen, -Infinity before any. */
  get maxTimestamp(): number {
    return this.#maxTimestamp;
  }

  get watermark(): number {
    return this.#maxTimestamp - this.maxOutOfOrdernessMs - 1;
  }

  /** JSON-ready: `null` stands for "nothing seen yet". */
  snapshot(): { maxTimestamp: number | null } {
    return { maxTimestamp: Number.isFinite(this.#maxTimestamp) ? this.#maxTimestamp : null };
  }

  restore(snapshot: { maxTimestamp: number | null }): void {
    this.#maxTimestamp = snapshot.maxTimestamp ?? -Infinity;
  }
}
