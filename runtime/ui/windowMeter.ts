import { LatencyHistogram } from '../../core/latency.ts';
import type { Percentiles } from './api.ts';

/** No observations: what the page shows as a dash. */
export const NO_PERCENTILES: Percentiles = { count: 0, p50: undefined, p95: undefined, p99: undefined, max: undefined };

/**
 * Counts records and times of one stage, and each second hands over the rate and the time
 * percentiles of that second only (a fresh window per tick, so a slow minute ago does not
 * hide a fast stage now). The total count goes on.
 *
 * @example
 * const meter = new WindowMeter();
 * meter.observe(512, 3.2); // a batch of 512 records took 3.2 ms
 * meter.take(1) // { records: 512, rate: 512, time: { count: 1, p50: 3.2, ... } }
 */
export class WindowMeter {
  #records = 0;
  #windowRecords = 0;
  readonly #times = new LatencyHistogram();

  /** Adds `records` records; `ms` is the time they (or their batch) took, if known. */
  observe(records: number, ms?: number): void {
    this.#records += records;
    this.#windowRecords += records;
    if (ms !== undefined && ms >= 0) this.#times.record(ms);
  }

  /** Only a time (a batch wait, a lookup), counting no records. */
  time(ms: number): void {
    if (ms >= 0) this.#times.record(ms);
  }

  get records(): number {
    return this.#records;
  }

  /** The window since the last take, over `seconds`; starts a new window. */
  take(seconds: number): { records: number; rate: number; time: Percentiles } {
    const rate = seconds > 0 ? this.#windowRecords / seconds : 0;
    const time = percentiles(this.#times);
    this.#windowRecords = 0;
    this.#times.reset();
    return { records: this.#records, rate, time };
  }
}

/**
 * A histogram's percentiles, with undefined instead of zeros when it is empty.
 *
 * @example
 * percentiles(histogram).p99
 */
export function percentiles(histogram: LatencyHistogram): Percentiles {
  if (histogram.count === 0) return NO_PERCENTILES;
  const s = histogram.summary();
  return { count: s.count, p50: s.p50, p95: s.p95, p99: s.p99, max: s.max };
}
