import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TestClock } from '../../../core/clock.ts';
import { withDeadline } from '../../../core/deadline.ts';
import { computeRows, type FeatureRow, type FeatureViewInfo } from '../../../core/features/index.ts';
import { onlineStore } from '../../../connectors/redis/index.ts';
import { fraudFeatures } from '../../../jobs/fraud/featureView.ts';
import { TransactionGenerator } from '../../../jobs/fraud/transactions.ts';
import { eventually } from '../../kit/eventually.ts';
import { startRedis, type TestRedis } from '../../kit/redis.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(() => redis.stop());

const noTtl: FeatureViewInfo = { ...fraudFeatures, features: fraudFeatures.features.map((f) => ({ ...f, ttlMs: Number.POSITIVE_INFINITY })) };

test('Redis killed mid-run and restarted: lookups fall back to cache and defaults, materialization catches up', async (t) => {
  const gen = new TransactionGenerator({ seed: 3 });
  const rows = computeRows(
    fraudFeatures,
    Array.from({ length: 6000 }, () => gen.next()),
  );
  const clock = new TestClock(rows[0]!.eventTime);
  const store = await onlineStore({ url: redis.url, clock, maxReconnectDelayMs: 50, commandTimeoutMs: 1000 });
  t.after(() => store.close());
  const feed = async (from: number, to: number): Promise<boolean[]> => {
    const results: boolean[] = [];
    for (let i = from; i < to; i += 200) {
      const batch = rows.slice(i, Math.min(i + 200, to));
      clock.set(batch.at(-1)!.eventTime);
      results.push(await store.materialize(batch));
    }
    return results;
  };

  assert.deepEqual(new Set(await feed(0, 2000)), new Set([true]));
  const before = rows.slice(1900, 2000).map((r) => r.entity);
  const warm = await store.lookup(fraudFeatures, before);
  assert.ok(warm.every((u) => Object.values(u.values).every((v) => v.status !== 'cached')));

  await redis.kill();
  // It answers at once (no offline queue) or at the 1 s command timeout; the bug waits for Redis,
  // which is not back until after this lookup. 10× the timeout leaves a loaded machine's timers room.
  const during = await withDeadline(store.lookup(fraudFeatures, [...before, 'never-seen']), 10_000, () => new Error('a lookup with Redis down did not answer within 10 s: it waits for Redis, not the 1 s command timeout'));
  const statuses = during.flatMap((u) => Object.values(u.values).map((v) => v.status));
  assert.equal(statuses.includes('fresh'), false, 'nothing is fresh while Redis is down');
  assert.ok(statuses.filter((s) => s === 'cached').length >= before.length, 'last known values come from the cache');
  for (const [i, u] of during.slice(0, -1).entries()) {
    for (const [name, v] of Object.entries(u.values)) if (v.status === 'cached') assert.equal(v.value, warm[i]!.values[name]!.value);
  }
  assert.deepEqual(during.at(-1)!.values.amount_log, { value: 0, status: 'default', reason: 'missing', ageMs: null });
  assert.ok(store.stats().lookup.redisFailures >= 1);

  const whileDown = await feed(2000, 4000);
  assert.ok(whileDown.includes(false), 'materialize reports rows still pending while Redis is down');
  assert.ok(store.stats().materialize.pending > 0);

  await redis.restart();
  await eventually('the buffer to drain into the restarted Redis', () => store.flush(), { timeoutMs: 15_000, everyMs: 25 });
  assert.deepEqual(new Set(await feed(4000, 6000)), new Set([true]));

  const stats = store.stats().materialize;
  assert.equal(stats.pending, 0);
  assert.equal(stats.rowsDropped, 0);
  assert.ok(stats.failedBatches >= 1);

  // The restarted Redis has no persistence: what matters is that every entity written since the
  // kill holds its newest row, bit for bit.
  const newest = new Map<string, FeatureRow>();
  for (const row of rows.slice(2000)) newest.set(row.entity, row);
  const served = await store.lookup(noTtl, [...newest.keys()]);
  for (const got of served) {
    const want = newest.get(got.entity)!;
    assert.equal(got.eventTime, want.eventTime, `${got.entity} caught up`);
    for (const name of fraudFeatures.featureNames) {
      assert.equal(got.values[name]!.status, 'fresh');
      assert.ok(Object.is(got.values[name]!.value, want.values[name]));
    }
  }
  assert.ok(newest.size > 1000);
});
