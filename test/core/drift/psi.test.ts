import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinCounts, PSI_EPSILON, psi } from '../../../core/drift/index.ts';
import { NORMAL_DECILES, seededNormal } from './sampling.ts';

const quarters = { edges: [0, 1, 2], proportions: [0.25, 0.25, 0.25, 0.25] };

test('PSI of a hand-computed small case', () => {
  // Observed shares 0.4, 0.2, 0.2, 0.2 against 0.25 each:
  // (0.4-0.25)·ln(0.4/0.25) + 3·(0.2-0.25)·ln(0.2/0.25) = 0.15·0.4700036 + 3·0.05·0.2231436 = 0.1039721
  assert.ok(Math.abs(psi(quarters, [40, 20, 20, 20]) - 0.1039721) < 1e-6);
  // The same shares as the reference give exactly 0.
  assert.equal(psi(quarters, [5, 5, 5, 5]), 0);
});

test('an empty bin counts as the epsilon share 1e-4, so PSI is large but finite', () => {
  assert.equal(PSI_EPSILON, 1e-4);
  // 2·(0.5-0.25)·ln(2) + 2·(1e-4-0.25)·ln(1e-4/0.25) = 0.3465736 + 3.9104583 = 4.2570319
  const value = psi(quarters, [50, 50, 0, 0]);
  assert.ok(Math.abs(value - 4.2570319) < 1e-6, `got ${value}`);
  // A bin empty in the reference and in the window adds nothing.
  assert.equal(psi({ edges: [0, 1], proportions: [0.5, 0, 0.5] }, [3, 0, 3]), 0);
});

test('PSI of nothing observed is NaN, not 0: no evidence is not "no drift"', () => {
  assert.ok(Number.isNaN(psi(quarters, [0, 0, 0, 0])));
});

// A sample of n from the reference itself has PSI ≈ χ²/n with k-1 degrees of freedom, i.e.
// about (k-1)/n = 9/10000 = 0.0009 here with a spread of about sqrt(2·9)/n ≈ 0.0004. The
// tolerance 0.01 is ten times the expected value (and 20 spreads above it), yet twenty times
// below the 0.2 alarm: a real shift cannot pass for sampling noise.
const FROM_REFERENCE_TOLERANCE = 0.01;

function windowOf(draw: () => number, n: number, shift: number): number[] {
  const counts = new BinCounts(NORMAL_DECILES.edges);
  for (let i = 0; i < n; i++) counts.add(draw() + shift);
  return counts.counts;
}

test('a stream drawn from the reference has PSI ~0 (below 0.01); the same stream shifted by 0.5 sd is above 0.2', () => {
  const same = psi(NORMAL_DECILES, windowOf(seededNormal(42), 10_000, 0));
  assert.ok(same < FROM_REFERENCE_TOLERANCE, `PSI of the reference stream ${same}`);
  assert.ok(same > 0, 'a finite sample is never exactly the reference');
  const shifted = psi(NORMAL_DECILES, windowOf(seededNormal(42), 10_000, 0.5));
  // A mean shift of δ sd gives PSI ≈ δ² = 0.25 for a normal (binned a little less).
  assert.ok(shifted > 0.2 && shifted < 0.3, `PSI of the shifted stream ${shifted}`);
});
