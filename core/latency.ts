import * as hdr from 'hdr-histogram-js';

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * A latency histogram (HdrHistogram, microsecond resolution, up to an hour): constant memory
 * and cost per observation however many records pass, so it can sit on the hot path.
 *
 * @example
 * const latency = new LatencyHistogram();
 * latency.record(1.25); // ms
 * latency.summary().p99;
 */
export class LatencyHistogram {
  readonly #histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 });

  /**
   * A histogram from {@link encode}'s text: stream threads send theirs to the main thread, which
   * adds them up, because percentiles of parts cannot be combined into the whole's.
   *
   * @example
   * const whole = new LatencyHistogram();
   * whole.add(LatencyHistogram.decode(part.encode()));
   */
  static decode(text: string): LatencyHistogram {
    const histogram = new LatencyHistogram();
    if (text !== '') histogram.#histogram.add(hdr.decodeFromCompressedBase64(text));
    return histogram;
  }

  /** The observations as compressed text (HdrHistogram's own encoding); '' when empty. */
  encode(): string {
    return this.#histogram.totalCount === 0 ? '' : hdr.encodeIntoCompressedBase64(this.#histogram);
  }

  /** Adds another histogram's observations to this one. */
  add(other: LatencyHistogram): void {
    this.#histogram.add(other.#histogram);
  }

  /** Records one observation in milliseconds, or `count` equal ones. */
  record(ms: number, count = 1): void {
    const value = Math.max(1, Math.round(ms * 1000));
    if (count === 1) this.#histogram.recordValue(value);
    else this.#histogram.recordValueWithCount(value, count);
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  summary(): LatencySummary {
    const h = this.#histogram;
    return {
      count: h.totalCount,
      p50: h.getValueAtPercentile(50) / 1000,
      p95: h.getValueAtPercentile(95) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      max: h.maxValue / 1000,
    };
  }

  reset(): void {
    this.#histogram.reset();
  }
}

/**
 * Calls `observe(value, count)` once per run of consecutive records with the same value. The
 * records of one write mostly share their admission time (one fetch) and their event time (one
 * producer send), and a histogram costs per call, not per count: on a backlog this turns two
 * histogram updates per record into a few per write.
 *
 * @example
 * forEachRun([{ at: 1 }, { at: 1 }, { at: 2 }], (r) => r.at, (at, count) => latency.record(9 - at, count));
 * // latency.record(8, 2), then latency.record(7, 1)
 */
export function forEachRun<R>(records: readonly R[], valueOf: (record: R) => number, observe: (value: number, count: number) => void): void {
  const length = records.length;
  if (length === 0) return;
  let value = valueOf(records[0]!);
  let count = 1;
  for (let i = 1; i < length; i += 1) {
    const next = valueOf(records[i]!);
    if (next === value) count += 1;
    else {
      observe(value, count);
      value = next;
      count = 1;
    }
  }
  observe(value, count);
}
