import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinCounts, binIndex, checkHistogram, InvalidHistogramError } from '../../../core/drift/index.ts';

test('binIndex: bins are (-inf, e0), [e0, e1), ..., [e_last, +inf)', () => {
  const edges = [0, 1, 2];
  assert.deepEqual([-5, -0.001, 0, 0.5, 1, 1.99, 2, 1e9].map((v) => binIndex(edges, v)), [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.equal(binIndex([], 3), 0);
});

test('BinCounts counts finite values into bins and non-finite ones apart', () => {
  const counts = new BinCounts([0, 1]);
  for (const v of [-1, 0.5, 0.7, 3, Number.NaN, Number.POSITIVE_INFINITY]) counts.add(v);
  assert.deepEqual(counts.counts, [1, 2, 1]);
  assert.equal(counts.total, 4);
  assert.equal(counts.missing, 2);
  counts.reset();
  assert.deepEqual(counts.counts, [0, 0, 0]);
  assert.equal(counts.total + counts.missing, 0);
});

test('checkHistogram refuses a histogram the statistics cannot use, with a message saying why', () => {
  assert.throws(() => checkHistogram('a', { edges: [0, 1], proportions: [0.5, 0.5] }), { name: 'InvalidHistogramError', message: 'reference histogram a: 2 edges need 3 proportions (got 2)' });
  assert.throws(() => checkHistogram('b', { edges: [1, 1], proportions: [0.2, 0.3, 0.5] }), /edges must be finite and strictly increasing \(edge 1 is 1\)/);
  assert.throws(() => checkHistogram('c', { edges: [0], proportions: [0.5, 0.6] }), /proportions must sum to 1 \(got 1.1\)/);
  assert.throws(() => checkHistogram('d', { edges: [0], proportions: [-0.5, 1.5] }), InvalidHistogramError);
  assert.doesNotThrow(() => checkHistogram('e', { edges: [0], proportions: [0.4, 0.6] }));
});
