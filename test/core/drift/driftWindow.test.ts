import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DriftWindow } from '../../../core/drift/index.ts';

const quarters = { edges: [0, 1, 2], proportions: [0.25, 0.25, 0.25, 0.25] };
const halves = { edges: [0.5], proportions: [0.5, 0.5] };

function window(): DriftWindow {
  return new DriftWindow([
    { name: 'amount', reference: quarters },
    { name: 'score', reference: halves },
  ]);
}

test('a window reports PSI, KS and counts per column for the rows added', () => {
  const w = window();
  // amount: 40 at -1 and 20 in each other bin (the hand-computed case of psi.test.ts: 0.1039721);
  // score: an even split, as in the reference (PSI 0).
  const amounts = [...new Array(40).fill(-1), ...new Array(20).fill(0.5), ...new Array(20).fill(1.5), ...new Array(20).fill(3)];
  amounts.forEach((amount, i) => w.add([amount, i % 2 === 0 ? 0.1 : 0.9]));
  const [amount, score] = w.result();
  assert.equal(amount!.name, 'amount');
  assert.ok(Math.abs(amount!.psi - 0.1039721) < 1e-6);
  assert.ok(Math.abs(amount!.ks - 0.15) < 1e-12);
  assert.equal(amount!.count, 100);
  assert.equal(score!.psi, 0);
  assert.equal(score!.ks, 0);
  assert.deepEqual(w.names, ['amount', 'score']);
});

test('addBatch counts a row-major [batch, columns] array like add row by row', () => {
  const byRow = window();
  const byBatch = window();
  const flat = new Float32Array([-1, 0.1, 0.5, 0.9, 3, 0.9, Number.NaN, 0.2]);
  for (let r = 0; r < 4; r++) byRow.add(flat.subarray(r * 2, r * 2 + 2));
  byBatch.addBatch(flat, 4);
  assert.deepEqual(byBatch.result(), byRow.result());
  assert.equal(byBatch.result()[0]!.missing, 1);
  assert.equal(byBatch.result()[0]!.count, 3);
  assert.throws(() => byBatch.addBatch(flat, 3), { message: 'DriftWindow.addBatch needs 3 x 2 values (got 8)' });
  assert.throws(() => byBatch.add([1]), { message: 'DriftWindow.add needs 2 values, one per column (got 1)' });
});

test('reset starts an empty window: PSI is NaN until values arrive', () => {
  const w = window();
  w.add([5, 0.9]);
  w.reset();
  const [amount] = w.result();
  assert.ok(Number.isNaN(amount!.psi));
  assert.equal(amount!.count, 0);
});

test('snapshot and restore carry a window across a restart exactly', () => {
  const w = window();
  for (const v of [-1, 0.2, 1.2, 2.5, 2.6, Number.NaN]) w.add([v, v]);
  const copy = window();
  copy.restore(JSON.parse(JSON.stringify(w.snapshot())));
  assert.deepEqual(copy.result(), w.result());
  copy.add([3, 0.9]);
  w.add([3, 0.9]);
  assert.deepEqual(copy.result(), w.result());
  const other = new DriftWindow([{ name: 'other', reference: halves }]);
  assert.throws(() => other.restore(w.snapshot()), /snapshot has 2 columns, the window has 1/);
});

test('the constructor refuses duplicate columns and bad references', () => {
  assert.throws(() => new DriftWindow([]), { message: 'DriftWindow needs at least one column' });
  assert.throws(() => new DriftWindow([{ name: 'a', reference: halves }, { name: 'a', reference: halves }]), { message: 'DriftWindow column a is given twice' });
  assert.throws(() => new DriftWindow([{ name: 'a', reference: { edges: [0], proportions: [1] } }]), { name: 'InvalidHistogramError' });
});
