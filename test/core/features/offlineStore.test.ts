import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { computeRows, offlineStore, type FeatureRow, type FeatureViewInfo } from '../../../core/features/index.ts';
import { fraudFeatures } from '../../../jobs/fraud/featureView.ts';
import { TransactionGenerator } from '../../../jobs/fraud/transactions.ts';

const H = 3_600_000;
const view: FeatureViewInfo = {
  name: 'risk',
  entity: 'merchant',
  features: [
    { name: 'score', type: 'float64', ttlMs: H, default: -1 },
    { name: 'tier', type: 'string', ttlMs: 24 * H, default: 'none' },
    { name: 'flagged', type: 'bool', ttlMs: 24 * H, default: false },
  ],
};

function row(entity: string, eventTime: number, score: number, tier = 'gold', flagged = true): FeatureRow {
  return { view: 'risk', entity, eventTime, values: { score, tier, flagged } };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-offline-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('point in time: a row 1 ms after the label is never joined; one at the same ms is', async (t) => {
  const store = await offlineStore({ dir: tempDir(t) });
  t.after(() => store.close());
  const T = 1_000 * H;
  await store.append(view, [row('m1', T - 10, 0.25), row('m1', T + 1, 0.99), row('m2', T, 0.5)]);
  const training = await store.trainingSet({
    labels: [
      { entity: 'm1', eventTime: T, label: 1 },
      { entity: 'm2', eventTime: T, label: 0 },
      { entity: 'm1', eventTime: T - 11, label: 0 },
      { entity: 'm3', eventTime: T, label: 0 },
    ],
    views: [view],
  });
  assert.deepEqual(training[0]!.values, { score: 0.25, tier: 'gold', flagged: true }, 'the value from T+1 leaked into the label at T');
  assert.equal(training[0]!.featureTimes.risk, T - 10);
  assert.equal(training[1]!.values.score, 0.5, 'a row at exactly the label time is joined (<=)');
  assert.deepEqual(training[2]!.values, { score: -1, tier: 'none', flagged: false }, 'nothing before the label: defaults');
  assert.equal(training[2]!.featureTimes.risk, null);
  assert.deepEqual(training[3]!.values, { score: -1, tier: 'none', flagged: false });
  assert.equal(training[0]!.label, 1);
});

test('ties on (entity, event time) go to the row appended last; TTLs apply as online', async (t) => {
  const store = await offlineStore({ dir: tempDir(t) });
  t.after(() => store.close());
  await store.append(view, [row('m1', 1000, 0.1), row('m1', 1000, 0.2)]);
  await store.append(view, [row('m1', 1000, 0.3, 'silver')]);
  let [joined] = await store.trainingSet({ labels: [{ entity: 'm1', eventTime: 1000, label: 0 }], views: [view] });
  assert.equal(joined!.values.score, 0.3);
  assert.equal(joined!.values.tier, 'silver');
  [joined] = await store.trainingSet({ labels: [{ entity: { merchant: 'm1' }, eventTime: 1000 + H + 1, label: 0 }], views: [view] });
  assert.equal(joined!.values.score, -1, 'older than its 1 h TTL: default');
  assert.equal(joined!.values.tier, 'silver', 'within its 24 h TTL');
  assert.deepEqual((await store.rows(view)).map((r) => r.values.score), [0.3], 'rows() also keeps one row per (entity, event time)');
});

test('Parquet holds fraud rows bit for bit, and training rows equal streaming rows at the same event', async (t) => {
  const dir = tempDir(t);
  const gen = new TransactionGenerator({ seed: 5 });
  const txs = Array.from({ length: 3000 }, () => gen.next());
  const rows = computeRows(fraudFeatures, txs);
  let store = await offlineStore({ dir });
  await store.append(fraudFeatures, rows.slice(0, 1000));
  store.close();
  store = await offlineStore({ dir }); // a reopened store continues the file numbering
  t.after(() => store.close());
  await store.append(fraudFeatures, rows.slice(1000));
  const stored = await store.rows(fraudFeatures);
  assert.equal(stored.length, rows.length);
  stored.forEach((r, i) => assert.deepEqual(r, rows[i]));
  const training = await store.trainingSet({ labels: txs.map((tx) => ({ entity: tx.userId, eventTime: tx.timestamp, label: tx.isFraud ? 1 : 0 })), views: [fraudFeatures] });
  training.forEach((r, i) => {
    for (const name of fraudFeatures.featureNames) assert.ok(Object.is(r.values[name], rows[i]!.values[name]), `label ${i} ${name}`);
  });
});

test('backfill computes a view over history with the streaming update and stores the rows', async (t) => {
  const store = await offlineStore({ dir: tempDir(t) });
  t.after(() => store.close());
  const gen = new TransactionGenerator({ seed: 8 });
  const txs = Array.from({ length: 500 }, () => gen.next());
  const rows = await store.backfill(txs, fraudFeatures);
  assert.deepEqual(rows, computeRows(fraudFeatures, txs));
  assert.deepEqual(await store.rows(fraudFeatures), rows);
});
