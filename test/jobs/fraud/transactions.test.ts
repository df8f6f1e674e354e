import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransactionGenerator, parseTransaction, type Transaction, type TransactionGeneratorOptions } from '../../../jobs/fraud/transactions.ts';

function take(count: number, options: TransactionGeneratorOptions): Transaction[] {
  const generator = new TransactionGenerator(options);
  return Array.from({ length: count }, () => generator.next());
}

function fraudShare(txs: Transaction[]): number {
  return txs.filter((t) => t.isFraud).length / txs.length;
}

test('the same seed gives the same stream', () => {
  assert.deepEqual(take(2000, { seed: 9 }), take(2000, { seed: 9 }));
});

test('different seeds give different streams', () => {
  assert.notDeepEqual(take(100, { seed: 1 }).map((t) => t.amount), take(100, { seed: 2 }).map((t) => t.amount));
});

test('the fraud ratio is near the default 1.5%', () => {
  const share = fraudShare(take(200_000, { seed: 3 }));
  assert.ok(share > 0.0115 && share < 0.0185, `fraud share ${share}`);
});

test('the fraud ratio follows the configured ratio', () => {
  const share = fraudShare(take(100_000, { seed: 4, fraudRatio: 0.05 }));
  assert.ok(share > 0.04 && share < 0.06, `fraud share ${share}`);
});

test('a fraud ratio of 0 gives no fraud', () => {
  assert.equal(fraudShare(take(20_000, { seed: 5, fraudRatio: 0 })), 0);
});

test('event time is monotonic and starts at startTime', () => {
  const txs = take(50_000, { seed: 6, startTime: 1_000_000 });
  assert.ok(txs[0]!.timestamp >= 1_000_000);
  for (let i = 1; i < txs.length; i++) assert.ok(txs[i]!.timestamp >= txs[i - 1]!.timestamp, `at ${i}`);
});

test('the mean event-time gap is near meanGapMs', () => {
  const txs = take(100_000, { seed: 7, meanGapMs: 500 });
  const meanGap = (txs.at(-1)!.timestamp - txs[0]!.timestamp) / (txs.length - 1);
  assert.ok(meanGap > 400 && meanGap < 600, `mean gap ${meanGap}`);
});

test('transaction ids are unique', () => {
  const txs = take(20_000, { seed: 8 });
  assert.equal(new Set(txs.map((t) => t.id)).size, txs.length);
});

test('every generated transaction passes the wire schema', () => {
  for (const t of take(5000, { seed: 10 })) assert.deepEqual(parseTransaction(JSON.parse(JSON.stringify(t))), t);
});

test('users recur and mostly transact in one home country', () => {
  const txs = take(20_000, { seed: 12, users: 500 });
  const countries = new Map<string, Map<string, number>>();
  for (const t of txs) {
    if (t.isFraud) continue;
    const byCountry = countries.get(t.userId) ?? new Map<string, number>();
    countries.set(t.userId, byCountry.set(t.country, (byCountry.get(t.country) ?? 0) + 1));
  }
  assert.ok(countries.size <= 500);
  let home = 0;
  let total = 0;
  for (const byCountry of countries.values()) {
    home += Math.max(...byCountry.values());
    for (const n of byCountry.values()) total += n;
  }
  assert.ok(home / total > 0.9, `home share ${home / total}`);
});

test('invalid options are rejected with exact messages', () => {
  assert.throws(() => new TransactionGenerator({ users: 0 }), /^RangeError: users must be a positive integer \(got 0\)$/);
  assert.throws(() => new TransactionGenerator({ fraudRatio: 0.9 }), /fraudRatio must be between 0 and 0.5 \(got 0.9\)/);
  assert.throws(() => new TransactionGenerator({ meanGapMs: Number.NaN }), /meanGapMs must be a non-negative number/);
});
