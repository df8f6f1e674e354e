import type { Percentiles } from './api.ts';

/**
 * Percentiles with the histogram behind them (bucket index, count, index, count, …): a stream
 * thread sends these so the main thread can merge the threads' windows exactly. The served
 * JSON never carries them.
 */
export interface MergeablePercentiles extends Percentiles {
  readonly buckets: readonly number[];
}

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
  readonly #times = new LogHistogram();
  readonly #mergeable: boolean;

  /** `mergeable`: each window's time keeps its buckets (see {@link MergeablePercentiles}). */
  constructor(options: { mergeable?: boolean } = {}) {
    this.#mergeable = options.mergeable === true;
  }

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
    const time = this.#times.percentiles(this.#mergeable);
    this.#windowRecords = 0;
    this.#times.reset();
    return { records: this.#records, rate, time };
  }
}

const NO_BUCKETS: MergeablePercentiles = { ...NO_PERCENTILES, buckets: [] };

/** Buckets per doubling: neighbouring bounds differ by 2^(1/8), about 9 %. */
const PER_DOUBLING = 8;
/** 1 µs to about 3 hours in µs, 2^33. */
const BUCKETS = 34 * PER_DOUBLING;

/**
 * Times in ms, in logarithmic buckets from 1 µs up (each about 9 % wide): a dashboard's
 * percentiles need no more, and recording is a logarithm and an increment, a few nanoseconds,
 * which matters on a per-record listener. Percentiles are the bucket's upper bound, never
 * above the largest time seen.
 *
 * @example
 * const times = new LogHistogram();
 * times.record(0.25);
 * times.percentiles().p99 // about 0.25
 */
export class LogHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #max = 0;

  /** Records one time in ms, or `count` equal ones. */
  record(ms: number, count = 1): void {
    const us = ms * 1000;
    const i = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log2(us) * PER_DOUBLING));
    this.#counts[i]! += count;
    this.#count += count;
    if (ms > this.#max) this.#max = ms;
  }

  get count(): number {
    return this.#count;
  }

  /** `withBuckets`: the result is {@link MergeablePercentiles}, for {@link add} elsewhere. */
  percentiles(withBuckets = false): Percentiles {
    if (this.#count === 0) return withBuckets ? NO_BUCKETS : NO_PERCENTILES;
    const percentiles = { count: this.#count, p50: this.#at(0.5), p95: this.#at(0.95), p99: this.#at(0.99), max: this.#max };
    if (!withBuckets) return percentiles;
    const buckets: number[] = [];
    for (let i = 0; i < BUCKETS; i += 1) if (this.#counts[i]! > 0) buckets.push(i, this.#counts[i]!);
    const mergeable: MergeablePercentiles = { ...percentiles, buckets };
    return mergeable;
  }

  /**
   * Adds another histogram's window, as `percentiles(true)` gave it: the threads' windows
   * merge into the percentiles of all their records. Without buckets there is nothing to add
   * exactly, so it returns false and adds nothing.
   */
  add(window: Percentiles): boolean {
    if (!('buckets' in window) || !Array.isArray(window.buckets)) return window.count === 0;
    const buckets: readonly number[] = window.buckets;
    for (let i = 0; i + 1 < buckets.length; i += 2) {
      this.#counts[buckets[i]!]! += buckets[i + 1]!;
      this.#count += buckets[i + 1]!;
    }
    if (window.max !== undefined && window.max > this.#max) this.#max = window.max;
    return true;
  }

  reset(): void {
    if (this.#count === 0) return;
    this.#counts.fill(0);
    this.#count = 0;
    this.#max = 0;
  }

  #at(quantile: number): number {
    const target = Math.max(1, Math.ceil(quantile * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i += 1) {
      seen += this.#counts[i]!;
      if (seen >= target) return Math.min(this.#max, 2 ** (i / PER_DOUBLING) / 1000);
    }
    return this.#max;
  }
}
