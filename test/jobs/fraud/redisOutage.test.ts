/**
 * Redis killed in the middle of a run of the fraud job and restarted: the job never stops and
 * loses nothing, materialization catches up from its outage buffer, and a lookup stage against
 * the same Redis falls back to cached values and defaults with statuses that say so.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { storedRow, type FeatureStatus } from '../../../connectors/redis/index.ts';
import { computeRows, type FeatureRow } from '../../../core/features/index.ts';
import { defineJob, input, output, setting } from '../../../core/index.ts';
import { lookupFeatures } from '../../../operators/index.ts';
import { testDriver } from '../../../runtime/testing/testDriver.ts';
import fraudJob from '../../../jobs/fraud-detection.ts';
import { featureVector, fraudFeatures } from '../../../jobs/fraud/featureView.ts';
import { parseTransaction, TransactionGenerator, type Transaction } from '../../../jobs/fraud/transactions.ts';
import { eventually } from '../../kit/eventually.ts';
import { startRedis, type TestRedis } from '../../kit/redis.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(() => redis.stop());

function bits(values: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values).buffer));
}

async function stored(client: Redis, entity: string): Promise<FeatureRow | undefined> {
  return storedRow(client, fraudFeatures, entity).catch(() => undefined);
}

/** Looks up the users' fraud features (as another service would) and keeps the statuses. */
const lookupJob = defineJob({
  name: 'fraud-lookup',
  inputs: { transactions: input('transactions', { parse: parseTransaction }, { key: (tx) => tx.userId, time: (tx) => tx.timestamp }) },
  outputs: { served: output<{ id: string; user: string; statuses: FeatureStatus[]; reasons: string[] }>('served') },
  settings: { redis: setting.optionalString('the online store') },
  pipeline: ({ transactions }, { settings }) =>
    transactions.pipe(
      lookupFeatures(fraudFeatures, {
        redis: settings.redis,
        entity: (tx: Transaction) => tx.userId,
        ttl: '10m',
        store: { maxReconnectDelayMs: 100 },
        as: (tx, f) => ({ id: tx.id, user: tx.userId, statuses: Object.values(f.values).map((v) => v.status), reasons: Object.values(f.values).map((v) => v.reason ?? '') }),
      }),
    ),
});

test('Redis killed mid-run and restarted: the fraud job never stops, in = out, materialization catches up, lookups fall back with statuses saying so', async (t) => {
  const gen = new TransactionGenerator({ seed: 5, users: 300 });
  const txs = Array.from({ length: 4500 }, () => gen.next());
  const phase = [txs.slice(0, 1500), txs.slice(1500, 3000), txs.slice(3000)];
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  client.on('error', () => undefined);
  await client.connect();
  t.after(() => client.disconnect());

  const startTime = txs.at(-1)!.timestamp;
  const job = await testDriver(fraudJob, { settings: { redis: redis.url }, startTime, settleTimeoutMs: 30_000 });
  const lookups = await testDriver(lookupJob, { settings: { redis: redis.url }, startTime, settleTimeoutMs: 30_000 });
  const open = new Set([job, lookups]);
  t.after(async () => {
    for (const driver of open) await driver.close().catch(() => undefined);
  });
  const decided: string[] = [];
  const newest = new Map<string, FeatureRow>();
  for (const row of computeRows(fraudFeatures, txs)) newest.set(row.entity, row);
  const newestOf = (batch: Transaction[]) => new Map(computeRows(fraudFeatures, txs.slice(0, txs.indexOf(batch.at(-1)!) + 1)).map((row) => [row.entity, row.eventTime]));
  const run = async (batch: Transaction[], options: { awaitRedis?: boolean } = {}) => {
    job.inputs.transactions.pipeAll(batch);
    decided.push(...(await job.outputs.decisions.read()).map((d) => d.transactionId));
    if (options.awaitRedis === true) {
      // Rows are written in the background (up to writeIntervalMs behind the job): wait for them.
      const expected = newestOf(batch);
      await eventually('the rows of the batch in Redis', async () => {
        for (const tx of batch) if ((await stored(client, tx.userId))?.eventTime !== expected.get(tx.userId)) return false;
        return true;
      }, { timeoutMs: 20_000 });
    }
    lookups.inputs.transactions.pipeAll(batch);
    return lookups.outputs.served.read();
  };

  const warm = await run(phase[0]!, { awaitRedis: true });
  const warmStatuses = new Set(warm.flatMap((s) => s.statuses));
  assert.ok(warmStatuses.has('fresh'), 'with Redis up, lookups read fresh values');
  assert.equal(warmStatuses.has('cached'), false);

  await redis.kill();
  const down = await run(phase[1]!);
  assert.equal(decided.length, 3000, 'the job went on deciding with Redis down');
  const warmUsers = new Set(phase[0]!.map((tx) => tx.userId));
  const downStatuses = down.flatMap((s) => s.statuses);
  assert.equal(downStatuses.includes('fresh'), false, 'nothing is fresh while Redis is down');
  assert.ok(down.filter((s) => warmUsers.has(s.user)).every((s) => s.statuses.every((status) => status !== 'fresh')));
  assert.ok(downStatuses.includes('cached'), 'users seen before the outage are served from the cache');
  const newcomers = down.filter((s) => !warmUsers.has(s.user));
  assert.ok(newcomers.every((s) => s.statuses.every((status) => status === 'default') && s.reasons.every((r) => r === 'missing')), 'users never seen get defaults, reason missing');

  await redis.restart();
  await run(phase[2]!);
  assert.deepEqual(decided, txs.map((tx) => tx.id), 'in = out: every transaction decided once, in order');
  assert.deepEqual(await job.deadLetters.read(), []);

  // Redis came back empty: every user active during or after the outage must get its newest row back.
  const expected = new Set([...phase[1]!, ...phase[2]!].map((tx) => tx.userId));
  await eventually('materialization to catch up', async () => {
    for (const user of expected) if ((await stored(client, user))?.eventTime !== newest.get(user)!.eventTime) return false;
    return true;
  }, { timeoutMs: 20_000 });
  for (const user of expected) assert.deepEqual(bits(featureVector((await stored(client, user))!)), bits(featureVector(newest.get(user)!)), `user ${user}`);

  // Lookups recover: once reconnected, values are fresh again.
  await eventually('lookups to read Redis again', async () => {
    lookups.inputs.transactions.pipe(phase[2]!.at(-1)!);
    return (await lookups.outputs.served.read()).some((s) => s.statuses.includes('fresh'));
  }, { timeoutMs: 20_000 });
  await job.close();
  open.delete(job);
  await lookups.close();
  open.delete(lookups);
});
