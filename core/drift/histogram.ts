import { InvalidHistogramError } from './errors.ts';

/**
 * A reference distribution as histogram bins, the shape a model manifest stores for every feature
 * and for the score. `edges` are the k-1 interior cut points in increasing order; they make k bins:
 * bin 0 is (-inf, edges[0]), bin i is [edges[i-1], edges[i]), bin k-1 is [edges[k-2], +inf). Open
 * ends mean a value outside the training range still lands in a bin (the first or the last), so
 * drift to new extremes shows up instead of being dropped. `proportions[i]` is the training share
 * of bin i; they sum to 1.
 */
export interface ReferenceHistogram {
  readonly edges: readonly number[];
  readonly proportions: readonly number[];
}

/** Tolerance on the sum of proportions: a manifest writes them rounded to ~1e-6 each. */
const SUM_TOLERANCE = 1e-4;

/**
 * The bin a value falls in (see {@link ReferenceHistogram}): the number of edges <= value.
 *
 * @example
 * binIndex([0, 1], -3); // 0
 * binIndex([0, 1], 0);  // 1
 * binIndex([0, 1], 7);  // 2
 */
export function binIndex(edges: readonly number[], value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (edges[middle]! <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Checks a histogram once at the boundary so the streaming code can trust it.
 * Throws InvalidHistogramError naming the histogram and what is wrong.
 *
 * @example
 * checkHistogram('amount_log', { edges: [0], proportions: [0.4, 0.6] }); // ok
 * checkHistogram('x', { edges: [0], proportions: [1] }); // throws: needs 2 proportions
 */
export function checkHistogram(name: string, histogram: ReferenceHistogram): ReferenceHistogram {
  const { edges, proportions } = histogram;
  if (proportions.length !== edges.length + 1) {
    throw new InvalidHistogramError(`reference histogram ${name}: ${edges.length} edges need ${edges.length + 1} proportions (got ${proportions.length})`);
  }
  for (let i = 0; i < edges.length; i++) {
    if (!Number.isFinite(edges[i]!) || (i > 0 && edges[i]! <= edges[i - 1]!)) {
      throw new InvalidHistogramError(`reference histogram ${name}: edges must be finite and strictly increasing (edge ${i} is ${edges[i]})`);
    }
  }
  let sum = 0;
  for (const p of proportions) {
    if (!Number.isFinite(p) || p < 0) throw new InvalidHistogramError(`reference histogram ${name}: proportions must be finite and >= 0 (got ${p})`);
    sum += p;
  }
  if (Math.abs(sum - 1) > SUM_TOLERANCE) {
    throw new InvalidHistogramError(`reference histogram ${name}: proportions must sum to 1 (got ${sum})`);
  }
  return histogram;
}

/**
 * Counts values into the bins of a reference histogram. NaN and other non-finite values are not
 * binned but counted apart (`missing`): they are bad input, not a shift of the distribution.
 *
 * @example
 * const counts = new BinCounts([0, 1]);
 * counts.add(-1); counts.add(0.5); counts.add(NaN);
 * counts.counts; // [1, 1, 0]; counts.total === 2; counts.missing === 1
 */
export class BinCounts {
  readonly edges: readonly number[];
  readonly counts: number[];
  total = 0;
  missing = 0;

  constructor(edges: readonly number[]) {
    this.edges = edges;
    this.counts = new Array<number>(edges.length + 1).fill(0);
  }

  add(value: number): void {
    if (!Number.isFinite(value)) {
      this.missing++;
      return;
    }
    this.counts[binIndex(this.edges, value)]!++;
    this.total++;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.missing = 0;
  }
}
