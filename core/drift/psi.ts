import type { ReferenceHistogram } from './histogram.ts';

/**
 * The share a bin is given when it is empty on one side, so PSI stays finite (ln(a/0) would be
 * infinite). 1e-4 is the usual choice in credit-risk practice: an empty bin against a reference
 * share p adds about (p - 1e-4) * ln(p / 1e-4), e.g. 0.69 for p = 0.1, which is a clear alarm but
 * not infinity, and a bin empty on both sides adds exactly 0.
 */
export const PSI_EPSILON = 1e-4;

/** Common PSI reading: < 0.1 no shift, 0.1–0.2 moderate, > 0.2 a significant shift. */
export const PSI_ALERT_THRESHOLD = 0.2;

/**
 * Population stability index of observed bin counts against a reference histogram:
 * sum over bins of (a - e) * ln(a / e), with a the observed share, e the reference share, each
 * floored at {@link PSI_EPSILON}. Returns NaN when nothing was observed (no evidence either way).
 *
 * @example
 * psi({ edges: [0], proportions: [0.5, 0.5] }, [50, 50]); // 0
 * psi({ edges: [0], proportions: [0.5, 0.5] }, [80, 20]); // 0.3 * ln(1.6) + 0.3 * ln(2.5) ≈ 0.416
 */
export function psi(reference: ReferenceHistogram, counts: readonly number[]): number {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < reference.proportions.length; i++) {
    const expected = Math.max(reference.proportions[i]!, PSI_EPSILON);
    const actual = Math.max((counts[i] ?? 0) / total, PSI_EPSILON);
    sum += (actual - expected) * Math.log(actual / expected);
  }
  return sum;
}
