import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinCounts, ksDistance } from '../../../core/drift/index.ts';
import { NORMAL_DECILES, seededNormal } from './sampling.ts';

test('KS distance at the edges of a hand-computed small case', () => {
  const quarters = { edges: [0, 1, 2], proportions: [0.25, 0.25, 0.25, 0.25] };
  // Reference CDF at the edges 0.25, 0.5, 0.75; observed 0.4, 0.6, 0.8 → max |difference| 0.15
  assert.ok(Math.abs(ksDistance(quarters, [40, 20, 20, 20]) - 0.15) < 1e-12);
  // Mass moved from the first to the last bin: 0.25, 0.5, 0.75 vs 0, 0.25, 0.5 → 0.25
  assert.ok(Math.abs(ksDistance(quarters, [0, 25, 25, 50]) - 0.25) < 1e-12);
  assert.ok(Number.isNaN(ksDistance(quarters, [0, 0, 0, 0])));
});

test('KS of a reference stream is small, of a 0.5 sd shift near the exact 2Φ(0.25)-1 = 0.197', () => {
  const count = (shift: number) => {
    const counts = new BinCounts(NORMAL_DECILES.edges);
    const draw = seededNormal(7);
    for (let i = 0; i < 10_000; i++) counts.add(draw() + shift);
    return counts.counts;
  };
  // Sampling noise of an empirical CDF at n = 10000 is about 1.36/sqrt(n) = 0.0136 at 95%.
  assert.ok(ksDistance(NORMAL_DECILES, count(0)) < 0.0136);
  // The edge 0 is where a shifted normal's CDF differs most, so the edge-only statistic is exact up to noise.
  assert.ok(Math.abs(ksDistance(NORMAL_DECILES, count(0.5)) - 0.1974) < 0.0136);
});
