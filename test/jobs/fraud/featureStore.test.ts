/**
 * The fraud job's features as a feature store: the same view runs in the job's keyed state, in
 * the offline backfill and (through materializeFeatures) in Redis, and the three agree bit for bit;
 * the served-rows log passes the skew check and a planted skew fails it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { storedRow } from '../../../connectors/redis/index.ts';
import { defineJob, input, output } from '../../../core/index.ts';
import { computeRows, featuresBackfillJob, featuresCheck, featuresCheckJob, featuresTrainingSetJob, servedLogPath, type FeatureRow, type SkewReport } from '../../../core/features/index.ts';
import { onlineStore } from '../../../connectors/redis/index.ts';
import { map } from '../../../operators/index.ts';
import { testDriver } from '../../../runtime/testing/testDriver.ts';
import fraudJob from '../../../jobs/fraud-detection.ts';
import { backfill } from '../../../jobs/fraud/backfill.ts';
import { featureVector, fraudFeatures, fraudFeatureView } from '../../../jobs/fraud/featureView.ts';
import { parseTransaction, TransactionGenerator, type Transaction } from '../../../jobs/fraud/transactions.ts';
import { userFeatures } from '../../../jobs/fraud/userFeatures.ts';
import { startRedis, type TestRedis } from '../../kit/redis.ts';

let redis: TestRedis;
let cwd: string;
const home = process.cwd();
before(async () => {
  redis = await startRedis();
  // The job logs served rows under ./.sluice: keep them out of the repository.
  cwd = mkdtempSync(join(tmpdir(), 'sluice-feature-store-'));
  process.chdir(cwd);
});
after(async () => {
  process.chdir(home);
  rmSync(cwd, { recursive: true, force: true });
  await redis.stop();
});

function transactions(count: number, seed: number, users = 400): Transaction[] {
  const gen = new TransactionGenerator({ seed, users });
  return Array.from({ length: count }, () => gen.next());
}

/** float32 bit patterns, so -0 and NaN count as different from 0 and each other. */
function bits(values: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values).buffer));
}

/** Each entity's newest row (the last in event-time order). */
function newestRows(rows: readonly FeatureRow[]): Map<string, FeatureRow> {
  const newest = new Map<string, FeatureRow>();
  for (const row of rows) newest.set(row.entity, row);
  return newest;
}

/** What Redis holds for an entity, decoded as the view's types; undefined when absent. */
async function stored(client: Redis, entity: string): Promise<FeatureRow | undefined> {
  return storedRow(client, fraudFeatures, entity);
}

const featuresJob = defineJob({
  name: 'fraud-features',
  inputs: { transactions: input('transactions', { parse: parseTransaction }, { key: (tx) => tx.userId, time: (tx) => tx.timestamp }) },
  outputs: { features: output<{ id: string; features: number[] }>('features') },
  pipeline: ({ transactions }) => transactions.pipe(userFeatures(), map((f) => ({ id: f.tx.id, features: Array.from(f.features) }))),
});

test('streaming (keyed state in a job on the test driver) gives the backfill and computeRows bit for bit', async () => {
  const txs = transactions(6000, 11);
  const driver = await testDriver(featuresJob);
  try {
    driver.inputs.transactions.pipeAll(txs);
    const streamed = await driver.outputs.features.read();
    assert.equal(streamed.length, txs.length);
    const offline = [...backfill(txs)];
    const rows = computeRows(fraudFeatures, txs);
    for (let i = 0; i < txs.length; i++) {
      assert.equal(streamed[i]!.id, txs[i]!.id);
      assert.deepEqual(bits(streamed[i]!.features), bits(offline[i]!.features), `transaction ${i}: streaming != backfill`);
      assert.deepEqual(bits(streamed[i]!.features), bits(featureVector(rows[i]!)), `transaction ${i}: streaming != computeRows`);
    }
  } finally {
    await driver.close();
  }
});

test('the fraud job with Redis: Redis holds each user\'s newest offline row bit for bit, and the served rows pass the skew check', async (t) => {
  const txs = transactions(4000, 21);
  const client = new Redis(redis.url, { lazyConnect: true });
  await client.connect();
  t.after(() => client.disconnect());
  await client.flushall();
  const driver = await testDriver(fraudJob, { settings: { redis: redis.url, servedSample: 1 }, startTime: txs.at(-1)!.timestamp });
  let closed = false;
  t.after(async () => {
    if (!closed) await driver.close();
  });
  driver.inputs.transactions.pipeAll(txs);
  const decisions = await driver.outputs.decisions.read();
  assert.deepEqual(decisions.map((d) => d.transactionId), txs.map((tx) => tx.id), 'every transaction is decided once, in order');
  await driver.close();
  closed = true;

  const offline = computeRows(fraudFeatures, txs);
  const newest = newestRows(offline);
  for (const [user, row] of newest) {
    const inRedis = await stored(client, user);
    assert.ok(inRedis !== undefined, `user ${user} is in Redis`);
    assert.equal(inRedis.eventTime, row.eventTime, `user ${user}: event time`);
    assert.deepEqual(bits(featureVector(inRedis)), bits(featureVector(row)), `user ${user}: Redis != offline`);
  }

  let report: SkewReport | undefined;
  const lines: string[] = [];
  const served = servedLogPath('fraud-detection');
  const code = await featuresCheck({ view: fraudFeatures, served, events: txs, log: (l) => lines.push(l), report: (r) => (report = r) });
  assert.equal(code, 0, lines.join('\n'));
  assert.equal(report!.servedRows, txs.length);
  assert.equal(report!.matchedRows, txs.length);
  assert.ok(report!.features.every((f) => f.mismatches === 0 && f.missing === 0));

  // The same served rows against a view whose 1 h window is 61 min offline: the check must fail on it.
  const skewed = await featuresCheck({ view: fraudFeatureView({ window1h: '61m' }), served, events: txs, log: () => undefined, report: (r) => (report = r) });
  assert.equal(skewed, 1);
  const failing = report!.features.filter((f) => !f.passed).map((f) => f.feature);
  assert.deepEqual(failing, ['tx_count_1h']);

  // The job-level command (what `sluice features check --job ... --sample N` runs) on the same log.
  writeFileSync('events.jsonl', txs.map((tx) => JSON.stringify(tx)).join('\n'));
  const sampled = await featuresCheckJob({ job: fraudJob, sample: 1000, events: 'events.jsonl', log: () => undefined, report: (r) => (report = r) });
  assert.equal(sampled, 0);
  assert.equal(report!.servedRows, 1000);
  assert.equal(report!.matchedRows, 1000);
});

test('backfill and training-set commands for the job: the offline store and a refilled Redis hold the streaming values', async (t) => {
  const txs = transactions(3000, 31);
  writeFileSync('history.jsonl', txs.map((tx) => JSON.stringify(tx)).join('\n'));
  const client = new Redis(redis.url, { lazyConnect: true });
  await client.connect();
  t.after(() => client.disconnect());
  await client.flushall();
  const store = await onlineStore({ url: redis.url });
  t.after(() => store.close());
  const done = await featuresBackfillJob({ job: fraudJob, events: 'history.jsonl', dir: 'offline', online: store, log: () => undefined });
  assert.equal(done.rows, txs.length);
  const newest = newestRows(computeRows(fraudFeatures, txs));
  assert.equal(done.entities, newest.size);
  for (const [user, row] of newest) assert.deepEqual(bits(featureVector((await stored(client, user))!)), bits(featureVector(row)), `user ${user}`);

  // A label exactly at a transaction's time gets that transaction's row (its features came from the past).
  const labels = txs.slice(-50).map((tx) => ({ entity: tx.userId, eventTime: tx.timestamp, label: tx.isFraud === true ? 1 : 0 }));
  writeFileSync('labels.jsonl', labels.map((l) => JSON.stringify(l)).join('\n'));
  assert.equal(await featuresTrainingSetJob({ job: fraudJob, dir: 'offline', labels: 'labels.jsonl', out: 'training.csv', log: () => undefined }), 50);
});
