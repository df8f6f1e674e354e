/**
 * A small mergeable quantile sketch for amounts (the idea of DDSketch): values fall into
 * logarithmic buckets whose bounds grow by a factor γ = (1 + α) / (1 − α), so any quantile is
 * answered within a relative error α (1 %) of the true value, whatever the distribution. It is a
 * plain JSON object — a window accumulator that checkpoints as is — and two sketches merge by
 * adding bucket counts, which session windows and partial aggregates need. Size grows with the
 * spread of the values (≈ 230 buckets per factor of 100), not their number.
 *
 * @example
 * const sketch = emptySketch();
 * for (const amount of [12, 30, 7.5, 120]) addToSketch(sketch, amount);
 * sketchQuantile(sketch, 0.5); // ≈ 12, within 1 %
 */
export interface AmountSketch {
  count: number;
  /** Values <= 0 (no logarithm): counted apart. */
  zeros: number;
  min: number | null;
  max: number | null;
  /** Bucket index → count; bucket i holds values in (γ^(i−1), γ^i]. */
  bins: Record<string, number>;
}

/** Relative accuracy of the quantiles. */
export const SKETCH_RELATIVE_ERROR = 0.01;
const GAMMA = (1 + SKETCH_RELATIVE_ERROR) / (1 - SKETCH_RELATIVE_ERROR);
const LOG_GAMMA = Math.log(GAMMA);

export function emptySketch(): AmountSketch {
  return { count: 0, zeros: 0, min: null, max: null, bins: {} };
}

/** Adds one value, in place; returns the sketch. */
export function addToSketch(sketch: AmountSketch, value: number): AmountSketch {
  sketch.count += 1;
  sketch.min = sketch.min === null ? value : Math.min(sketch.min, value);
  sketch.max = sketch.max === null ? value : Math.max(sketch.max, value);
  if (value <= 0) {
    sketch.zeros += 1;
  } else {
    const index = Math.ceil(Math.log(value) / LOG_GAMMA);
    sketch.bins[index] = (sketch.bins[index] ?? 0) + 1;
  }
  return sketch;
}

/** A new sketch holding both. */
export function mergeSketches(a: AmountSketch, b: AmountSketch): AmountSketch {
  const bins = { ...a.bins };
  for (const [index, count] of Object.entries(b.bins)) bins[index] = (bins[index] ?? 0) + count;
  const min = a.min === null ? b.min : b.min === null ? a.min : Math.min(a.min, b.min);
  const max = a.max === null ? b.max : b.max === null ? a.max : Math.max(a.max, b.max);
  return { count: a.count + b.count, zeros: a.zeros + b.zeros, min, max, bins };
}

/**
 * The q-quantile (0 <= q <= 1): within 1 % of the sorted values' element at rank ⌊q·(n−1)⌋.
 * Null for an empty sketch.
 */
export function sketchQuantile(sketch: AmountSketch, q: number): number | null {
  if (sketch.count === 0) return null;
  const rank = Math.floor(q * (sketch.count - 1));
  if (rank < sketch.zeros) return Math.min(0, sketch.max!);
  let seen = sketch.zeros;
  const indexes = Object.keys(sketch.bins).map(Number).sort((a, b) => a - b);
  for (const index of indexes) {
    seen += sketch.bins[index]!;
    if (seen > rank) {
      const estimate = (2 * GAMMA ** index) / (GAMMA + 1);
      return Math.min(Math.max(estimate, sketch.min!), sketch.max!);
    }
  }
  return sketch.max;
}
