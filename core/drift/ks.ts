import type { ReferenceHistogram } from './histogram.ts';

/**
 * A Kolmogorov–Smirnov-type statistic on the histogram sketch: the largest distance between the
 * reference and the observed cumulative distributions, evaluated at the reference bin edges
 * (F(edge) = share of values below the edge). It only sees the edges, so it is a lower bound of
 * the exact KS distance; with 10 quantile bins it misses at most the movement inside one bin.
 * Returns NaN when nothing was observed.
 *
 * @example
 * ksDistance({ edges: [0, 1], proportions: [0.2, 0.5, 0.3] }, [2, 5, 3]); // 0
 * ksDistance({ edges: [0, 1], proportions: [0.2, 0.5, 0.3] }, [0, 5, 5]); // max(|0.2-0|, |0.7-0.5|) = 0.2
 */
export function ksDistance(reference: ReferenceHistogram, counts: readonly number[]): number {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return Number.NaN;
  let referenceCdf = 0;
  let observedCdf = 0;
  let max = 0;
  // The last bin is skipped: both CDFs reach 1 after it.
  for (let i = 0; i < reference.proportions.length - 1; i++) {
    referenceCdf += reference.proportions[i]!;
    observedCdf += (counts[i] ?? 0) / total;
    max = Math.max(max, Math.abs(referenceCdf - observedCdf));
  }
  return max;
}
