/** How often (scheduler ms) the batch limits are reconsidered, and the fewest observations that count. */
const ADJUST_EVERY_MS = 200;
const MIN_OBSERVATIONS = 20;
/** Observations kept between two adjustments (the most recent ones). */
const WINDOW = 2048;
/** Below this share of the target the limits grow back. */
const GROW_BELOW = 0.7;

/** The batch limits in force. */
export interface BatchLimits {
  readonly size: number;
  readonly waitMs: number;
}

/**
 * The latency target of a micro-batch (`targetP99Ms`): additive increase, multiplicative
 * decrease, as TCP's congestion window. Every 200 ms it looks at the p99 of the latencies
 * observed since the last look: above the target, the batch size and the wait halve; under 70 %
 * of it they grow back by an eighth of their maximum, up to `maxSize` / `maxWaitMs`. Pure: the
 * caller says what time it is, so it runs on virtual time in tests.
 *
 * @example
 * const target = new LatencyTarget(20, { size: 512, waitMs: 5 });
 * target.observe(35); // ms, one record
 * target.limits(now).size; // 256 once the p99 over a window was above 20 ms
 */
export class LatencyTarget {
  readonly #targetMs: number;
  readonly #max: BatchLimits;
  #size: number;
  #waitMs: number;
  #observed: number[] = [];
  #next = 0;
  #lastAdjust: number | undefined;

  constructor(targetMs: number, max: BatchLimits) {
    this.#targetMs = targetMs;
    this.#max = max;
    this.#size = max.size;
    this.#waitMs = max.waitMs;
  }

  /** One record's latency, ms. */
  observe(ms: number): void {
    if (this.#observed.length < WINDOW) this.#observed.push(ms);
    else this.#observed[this.#next++ % WINDOW] = ms;
  }

  /** The limits for a batch opened at `now` (scheduler ms); reconsidered at most every 200 ms. */
  limits(now: number): BatchLimits {
    this.#lastAdjust ??= now;
    if (now - this.#lastAdjust >= ADJUST_EVERY_MS && this.#observed.length >= MIN_OBSERVATIONS) {
      this.#lastAdjust = now;
      const p99 = this.p99();
      this.#observed = [];
      this.#next = 0;
      if (p99 > this.#targetMs) {
        this.#size = Math.max(1, Math.floor(this.#size / 2));
        this.#waitMs = this.#waitMs / 2;
      } else if (p99 < this.#targetMs * GROW_BELOW) {
        this.#size = Math.min(this.#max.size, this.#size + Math.max(1, Math.ceil(this.#max.size / 8)));
        this.#waitMs = Math.min(this.#max.waitMs, this.#waitMs + this.#max.waitMs / 8);
      }
    }
    return { size: this.#size, waitMs: this.#waitMs };
  }

  /** The p99 of the observations since the last adjustment (NaN without any). */
  p99(): number {
    if (this.#observed.length === 0) return NaN;
    const sorted = Float64Array.from(this.#observed).sort();
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
  }
}
