import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeRows, streamingUpdater, type ViewState } from '../../../core/features/index.ts';
import { FEATURE_NAMES } from '../../../jobs/fraud/featureView.ts';
import { computeFeatures, emptyHistory, updateHistory, type UserHistory } from '../../jobs/fraud/referenceFeatures.ts';
import { featureVector, fraudFeatures } from '../../../jobs/fraud/featureView.ts';
import { TransactionGenerator, type Transaction } from '../../../jobs/fraud/transactions.ts';

const EVENTS = 50_000;

function transactions(count: number, seed: number): Transaction[] {
  const gen = new TransactionGenerator({ seed });
  return Array.from({ length: count }, () => gen.next());
}

/** Index and feature of the first difference, comparing float32 bit patterns (NaN, -0 included). */
function firstDifference(a: Float32Array, b: Float32Array): string | undefined {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return `${FEATURE_NAMES[i]}: ${a[i]} != ${b[i]}`;
  return undefined;
}

test('the feature view gives bit-for-bit the vectors of the hand-written reference features on 50,000 generated transactions', () => {
  const txs = transactions(EVENTS, 42);
  const histories = new Map<string, UserHistory>();
  const stream = streamingUpdater(fraudFeatures);
  let checked = 0;
  for (const [i, tx] of txs.entries()) {
    const history = histories.get(tx.userId) ?? emptyHistory();
    histories.set(tx.userId, history);
    const expected = computeFeatures(tx, history);
    updateHistory(history, tx);
    const got = featureVector(stream(tx));
    const diff = firstDifference(got, expected);
    assert.equal(diff, undefined, `transaction ${i} (${tx.id}): ${diff}`);
    checked++;
  }
  assert.equal(checked, EVENTS);
  assert.deepEqual([...fraudFeatures.featureNames], [...FEATURE_NAMES]);
});

test('offline rows equal streaming rows bit for bit, also when state goes through a JSON checkpoint each event', () => {
  const txs = transactions(20_000, 7);
  const offline = computeRows(fraudFeatures, txs);
  const states = new Map<string, string>();
  for (const [i, tx] of txs.entries()) {
    const saved = states.get(tx.userId);
    const state = saved === undefined ? fraudFeatures.initial() : (JSON.parse(saved) as ViewState<unknown>);
    const { state: next, row } = fraudFeatures.update(state as ReturnType<typeof fraudFeatures.initial>, tx);
    states.set(tx.userId, JSON.stringify(next));
    const diff = firstDifference(featureVector(row), featureVector(offline[i]!));
    assert.equal(diff, undefined, `transaction ${i}: ${diff}`);
    assert.equal(row.eventTime, offline[i]!.eventTime);
  }
});

test('a planted 61-minute window changes some 1 h counts (the comparison above can fail)', async () => {
  const { fraudFeatureView } = await import('../../../jobs/fraud/featureView.ts');
  const txs = transactions(20_000, 42);
  const skewed = computeRows(fraudFeatureView({ window1h: '61m' }), txs);
  const real = computeRows(fraudFeatures, txs);
  const differing = real.filter((row, i) => row.values.tx_count_1h !== skewed[i]!.values.tx_count_1h).length;
  assert.ok(differing > 0, 'a 61 min window should count some transactions a 1 h window does not');
});
