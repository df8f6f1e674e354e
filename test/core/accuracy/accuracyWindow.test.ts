import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccuracyWindow } from '../../../core/accuracy/index.ts';

const scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2];
const labels = [1, 1, 0, 1, 0, 0, 1, 0];

test('precision, recall and AUC of a hand-computed window at threshold 0.5', () => {
  const w = new AccuracyWindow({ threshold: 0.5 });
  scores.forEach((s, i) => w.add(s, labels[i]!));
  // Flagged (>= 0.5): 0.9 ✓, 0.8 ✓, 0.7 ✗, 0.6 ✓, 0.55 ✗ → tp 3, fp 2; missed: 0.3 → fn 1; tn 2.
  assert.deepEqual(w.result(), {
    count: 8,
    positives: 4,
    truePositives: 3,
    falsePositives: 2,
    falseNegatives: 1,
    trueNegatives: 2,
    precision: 0.6,
    recall: 0.75,
    auc: 0.75,
  });
});

test('a score equal to the threshold is flagged, as the job decides (score >= threshold)', () => {
  const w = new AccuracyWindow({ threshold: 0.7 });
  w.add(0.7, 1);
  w.add(0.69, 0);
  assert.equal(w.result().truePositives, 1);
  assert.equal(w.result().falsePositives, 0);
});

test('undefined figures are NaN, not 0: nothing flagged, no positive, one class', () => {
  const w = new AccuracyWindow({ threshold: 0.9 });
  w.add(0.1, 0);
  w.add(0.2, 0);
  const r = w.result();
  assert.ok(Number.isNaN(r.precision));
  assert.ok(Number.isNaN(r.recall));
  assert.ok(Number.isNaN(r.auc));
});

test('reset, snapshot and restore', () => {
  const w = new AccuracyWindow({ threshold: 0.5 });
  scores.forEach((s, i) => w.add(s, labels[i]!));
  const copy = new AccuracyWindow({ threshold: 0.5 });
  copy.restore(JSON.parse(JSON.stringify(w.snapshot())));
  assert.deepEqual(copy.result(), w.result());
  w.reset();
  assert.equal(w.count, 0);
  assert.equal(copy.count, 8);
  assert.throws(() => copy.restore({ scores: [0.1], labels: [] }), /has 1 scores but 0 labels/);
});

test('bad input is refused with an exact message', () => {
  assert.throws(() => new AccuracyWindow({ threshold: 1.5 }), { message: 'threshold must be a number in [0, 1] (got 1.5)' });
  const w = new AccuracyWindow({ threshold: 0.5 });
  assert.throws(() => w.add(Number.NaN, 1), { message: 'score must be a finite number (got NaN)' });
  assert.throws(() => w.add(0.5, 2), { message: 'label must be 0 or 1 (got 2)' });
});
