import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backfill, generate } from '../../../jobs/fraud/backfill.ts';
import {
  FEATURE_NAMES,
  MERCHANT_CATEGORY_RISK,
  computeFeatures,
  emptyHistory,
  updateHistory,
  type UserHistory,
} from '../../../jobs/fraud/features.ts';
import { MERCHANT_CATEGORIES, parseTransaction, type Transaction } from '../../../jobs/fraud/transactions.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);
const f = (name: string): number => FEATURE_NAMES.indexOf(name);

function tx(overrides: Partial<Transaction> = {}): Transaction {
  return {
    id: 't1', userId: 'u1', amount: 25, merchantId: 'm1', merchantCategory: 'grocery', country: 'US',
    cardPresent: true, timestamp: T0, ...overrides,
  };
}

/** Features of each transaction given the ones before it, the way the streaming job computes them. */
function replay(txs: Transaction[]): { features: Float32Array[]; history: UserHistory } {
  const history = emptyHistory();
  const features = txs.map((t) => {
    const out = computeFeatures(t, history);
    updateHistory(history, t);
    return out;
  });
  return { features, history };
}

function assertInRange(features: Float32Array, context: string): void {
  assert.equal(features.length, 10);
  for (let i = 0; i < features.length; i++) {
    const v = features[i]!;
    assert.ok(Number.isFinite(v) && v >= -5 && v <= 5, `${context}: ${FEATURE_NAMES[i]} = ${v}`);
  }
}

test('FEATURE_NAMES lists exactly ten distinct features', () => {
  assert.equal(FEATURE_NAMES.length, 10);
  assert.equal(new Set(FEATURE_NAMES).size, 10);
});

test('features are finite and within [-5, 5] for generated data', () => {
  for (const { tx: t, features } of backfill(generate(20_000, 3))) assertInRange(features, t.id);
});

test('features are finite and within [-5, 5] for edge cases', () => {
  assertInRange(computeFeatures(tx(), emptyHistory()), 'first transaction of a user');
  assertInRange(computeFeatures(tx({ amount: 0 }), emptyHistory()), 'zero amount');
  assertInRange(computeFeatures(tx({ amount: 1e300, timestamp: 0 }), emptyHistory()), 'huge amount at epoch 0');
  assertInRange(computeFeatures(tx({ merchantCategory: 'never-seen' }), emptyHistory()), 'unknown category');
  const odd = { merchantCategory: 'toString', merchantId: 'constructor', country: '__proto__', userId: '__proto__' };
  replay([tx(odd), tx(odd)]).features.forEach((x, i) => assertInRange(x, `prototype-like names #${i}`));
  const same = replay([tx(), tx({ amount: 0 }), tx({ amount: 0 }), tx({ amount: 1e9 })]);
  same.features.forEach((x, i) => assertInRange(x, `identical timestamps #${i}`));
  const late = replay([tx({ timestamp: T0 + HOUR }), tx({ timestamp: T0 })]); // out of order
  late.features.forEach((x, i) => assertInRange(x, `out of order #${i}`));
  const burst = replay(Array.from({ length: 2000 }, (_, i) => tx({ timestamp: T0 + i, amount: i })));
  assertInRange(burst.features.at(-1)!, '2000 transactions in 2 s');
});

test('velocity counts: 3 transactions within an hour, then one 2 h later', () => {
  const { features } = replay([
    tx({ timestamp: T0 }),
    tx({ timestamp: T0 + 10 * MINUTE }),
    tx({ timestamp: T0 + 30 * MINUTE }),
    tx({ timestamp: T0 + 2 * HOUR + 30 * MINUTE }),
    tx({ timestamp: T0 + 2 * HOUR + 40 * MINUTE }),
  ]);
  const counts = features.map((x) => [Math.expm1(x[f('tx_count_1h')]!), Math.expm1(x[f('tx_count_24h')]!)].map((c) => Math.round(c * 1e4) / 1e4));
  assert.deepEqual(counts, [[0, 0], [1, 1], [2, 2], [0, 3], [1, 4]]);
  const minutesSinceLast = Math.expm1(features[3]![f('minutes_since_last_tx')]! * 1.5);
  assert.ok(Math.abs(minutesSinceLast - 120) < 0.01, `minutes since last = ${minutesSinceLast}`);
});

test('velocity windows exclude a transaction exactly 1 h (and 24 h) old', () => {
  const { features } = replay([tx({ timestamp: T0 }), tx({ timestamp: T0 + HOUR })]);
  assert.equal(features[1]![f('tx_count_1h')], 0);
  const day = replay([tx({ timestamp: T0 }), tx({ timestamp: T0 + 24 * HOUR })]);
  assert.equal(day.features[1]![f('tx_count_24h')], 0);
});

test('transactions with identical timestamps all count in the window', () => {
  const { features } = replay([tx(), tx(), tx(), tx()]);
  assert.ok(Math.abs(Math.expm1(features[3]![f('tx_count_1h')]!) - 3) < 1e-4);
  assert.equal(features[3]![f('minutes_since_last_tx')], 0);
});

test('the history stays bounded: times older than 24 h are pruned', () => {
  const { history } = replay(Array.from({ length: 24 * 30 }, (_, i) => tx({ timestamp: T0 + i * HOUR, merchantId: `m${i}`, country: `C${i % 20}` })));
  assert.ok(history.parts.recent.times.length <= 25, `recent times ${history.parts.recent.times.length}`);
  assert.ok(history.parts.merchants.items.length <= 16);
  assert.ok(history.parts.countries.keys.length <= 8);
  assert.equal(history.count, 24 * 30);
});

test('new_merchant is 1 for an unseen merchant and 0 for a repeat one', () => {
  const { features } = replay([tx({ merchantId: 'a' }), tx({ merchantId: 'a' }), tx({ merchantId: 'b' }), tx({ merchantId: 'a' })]);
  assert.deepEqual(features.map((x) => x[f('new_merchant')]), [1, 0, 1, 0]);
});

test('foreign_country is learned from history: 0.5 with none, 0 at home, 1 elsewhere', () => {
  const { features } = replay([tx({ country: 'DE' }), tx({ country: 'DE' }), tx({ country: 'FR' }), tx({ country: 'DE' })]);
  assert.deepEqual(features.map((x) => x[f('foreign_country')]), [0.5, 0, 1, 0]);
});

test('amount_vs_user_avg is 0 for a first transaction and positive for 10x the usual', () => {
  const { features } = replay([tx({ amount: 20 }), tx({ amount: 20 }), tx({ amount: 200 })]);
  assert.equal(features[0]![f('amount_vs_user_avg')], 0);
  assert.ok(Math.abs(features[1]![f('amount_vs_user_avg')]!) < 1e-6);
  assert.ok(Math.abs(features[2]![f('amount_vs_user_avg')]! - Math.log(201 / 21)) < 1e-5);
});

test('every generator merchant category has a risk prior', () => {
  for (const category of MERCHANT_CATEGORIES) assert.ok(category in MERCHANT_CATEGORY_RISK, category);
});

test('computeFeatures never reads the fraud label', () => {
  const history = replay([tx(), tx({ timestamp: T0 + MINUTE })]).history;
  const t = tx({ timestamp: T0 + 2 * MINUTE, amount: 999, country: 'BR' });
  const plain = computeFeatures(t, history);
  assert.deepEqual(computeFeatures({ ...t, isFraud: true }, history), plain);
  assert.deepEqual(computeFeatures({ ...t, isFraud: false }, history), plain);
});

test('computeFeatures does not modify the history', () => {
  const { history } = replay([tx(), tx({ timestamp: T0 + MINUTE, merchantId: 'x' })]);
  const before = structuredClone(history);
  computeFeatures(tx({ timestamp: T0 + 2 * MINUTE, merchantId: 'y', country: 'FR' }), history);
  assert.deepEqual(history, before);
});

test('a history restored from JSON (a checkpoint) gives the same features', () => {
  const txs = [...generate(5000, 11)];
  const histories = new Map<string, UserHistory>();
  for (const t of txs.slice(0, 4000)) {
    const h = histories.get(t.userId) ?? emptyHistory();
    histories.set(t.userId, updateHistory(h, t));
  }
  const restored = new Map(Object.entries(JSON.parse(JSON.stringify(Object.fromEntries(histories))) as Record<string, UserHistory>));
  for (const t of txs.slice(4000)) {
    const a = histories.get(t.userId) ?? emptyHistory();
    const b = restored.get(t.userId) ?? emptyHistory();
    assert.deepEqual(computeFeatures(t, b), computeFeatures(t, a));
    histories.set(t.userId, updateHistory(a, t));
    restored.set(t.userId, updateHistory(b, t));
  }
});

test('backfill is deterministic for a seed', () => {
  const run = (): { ids: string[]; features: number[][]; labels: number[] } => {
    const rows = [...backfill(generate(5000, 42))];
    return { ids: rows.map((r) => r.tx.id), features: rows.map((r) => [...r.features]), labels: rows.map((r) => r.label) };
  };
  assert.deepEqual(run(), run());
});

test('backfill labels come from isFraud (1/0)', () => {
  const rows = [...backfill(generate(20_000, 5))];
  assert.ok(rows.every((r) => r.label === (r.tx.isFraud ? 1 : 0)));
  assert.ok(rows.some((r) => r.label === 1));
});

test('parseTransaction accepts a valid record and drops unknown keys', () => {
  const parsed = parseTransaction({ ...tx(), extra: 'ignored' });
  assert.deepEqual(parsed, tx());
});

test('parseTransaction rejects a missing field, naming it', () => {
  const { userId: _omitted, ...missing } = tx();
  assert.throws(() => parseTransaction(missing), /userId/);
});

test('parseTransaction rejects a mistyped field, naming it', () => {
  assert.throws(() => parseTransaction({ ...tx(), cardPresent: 'yes' }), /cardPresent: expected boolean/);
  assert.throws(() => parseTransaction({ ...tx(), timestamp: '2024-01-01' }), /timestamp/);
});

test('parseTransaction rejects a NaN, infinite or negative amount, naming the field', () => {
  assert.throws(() => parseTransaction({ ...tx(), amount: Number.NaN }), (e: Error) => e.name === 'InvalidTransactionError' && /amount/.test(e.message));
  assert.throws(() => parseTransaction({ ...tx(), amount: Number.POSITIVE_INFINITY }), /amount/);
  assert.throws(() => parseTransaction({ ...tx(), amount: -1 }), /amount/);
});

test('parseTransaction rejects a value that is not an object', () => {
  assert.throws(() => parseTransaction(null), /invalid transaction: \(record\)/);
  assert.throws(() => parseTransaction('{"id":"x"}'), /expected object/);
});
