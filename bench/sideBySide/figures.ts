/** Percentiles of one paced phase of the side-by-side bench, from the outside consumer's view. */

export interface Latencies {
  readonly count: number;
  /** arrival − creation, ms. */
  readonly latencies: Float64Array;
}

export interface PhaseFigures {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  /** The input events' own (arrival − creation) in the same phase: what Kafka alone costs. */
  readonly floor: { readonly p50: number; readonly p99: number };
  readonly p99OverFloor: number;
  /** Not every output of the phase arrived in time (the implementation did not keep up). */
  readonly fellBehind: boolean;
  /** Percent of the phase's outputs that had arrived when it was judged. */
  readonly arrivedShare: number;
}

/**
 * The figures of a phase: `outputs` undefined for a consume-only run (only its floor is known).
 *
 * @example
 * phaseFigures(500, 3000, floorSeen, outputSeen, 2500).p99OverFloor
 */
export function phaseFigures(rate: number, count: number, floor: Latencies, outputs: Latencies | undefined, expected: number): PhaseFigures {
  const own = outputs ?? floor;
  const [p50, p99] = [percentile(own.latencies, 0.5), percentile(own.latencies, 0.99)];
  const floorP99 = percentile(floor.latencies, 0.99);
  return {
    rate,
    p50,
    p99,
    floor: { p50: percentile(floor.latencies, 0.5), p99: floorP99 },
    p99OverFloor: p99 - floorP99,
    fellBehind: own.count < expected,
    arrivedShare: Math.floor((own.count / Math.max(1, expected)) * 100),
  };
}

/**
 * The value at quantile `q` (0..1) of unsorted values; NaN when there are none.
 *
 * @example
 * percentile(Float64Array.of(3, 1, 2), 0.5) // 2
 */
export function percentile(values: Float64Array, q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * `a / b` as "1.23" ("n/a" when b is missing or zero).
 *
 * @example
 * ratio(45_000, 30_000) // "1.50"
 */
export function ratio(a: number, b: number | undefined): string {
  return b === undefined || b === 0 || !Number.isFinite(a / b) ? 'n/a' : (a / b).toFixed(2);
}
