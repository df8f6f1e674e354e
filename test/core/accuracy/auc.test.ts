import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rocAuc } from '../../../core/accuracy/index.ts';

test('AUC of a hand-computed case: 12 of 16 (positive, negative) pairs ordered right', () => {
  // Positives 0.9, 0.8, 0.6, 0.3; negatives 0.7, 0.55, 0.4, 0.2.
  // 0.9 and 0.8 beat all 4 negatives, 0.6 beats 3, 0.3 beats 1: 12 / 16 = 0.75
  assert.equal(rocAuc([0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2], [1, 1, 0, 1, 0, 0, 1, 0]), 0.75);
});

test('ties count one half, whatever the input order', () => {
  assert.equal(rocAuc([0.5, 0.5], [1, 0]), 0.5);
  // Positive 0.7 against negatives 0.7 (tie, 1/2) and 0.1 (win, 1): 1.5 / 2
  assert.equal(rocAuc([0.1, 0.7, 0.7], [0, 0, 1]), 0.75);
  assert.equal(rocAuc([0.7, 0.1, 0.7], [1, 0, 0]), 0.75);
});

test('perfect, inverted and undefined AUC', () => {
  assert.equal(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(rocAuc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]), 0);
  assert.ok(Number.isNaN(rocAuc([0.1, 0.9], [1, 1])), 'one class only');
  assert.ok(Number.isNaN(rocAuc([], [])));
});

test('matches the pairwise definition on 300 random pairs with ties', () => {
  let seed = 1;
  const next = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const scores = Array.from({ length: 300 }, () => Math.round(next() * 20) / 20);
  const labels = scores.map((s) => (next() < 0.2 + 0.6 * s ? 1 : 0));
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < 300; i++) {
    for (let j = 0; j < 300; j++) {
      if (labels[i] === 1 && labels[j] === 0) {
        pairs++;
        wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
  }
  assert.ok(Math.abs(rocAuc(scores, labels) - wins / pairs) < 1e-12);
});
