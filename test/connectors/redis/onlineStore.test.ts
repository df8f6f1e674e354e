import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { TestClock } from '../../../core/clock.ts';
import { computeRows, FeatureStoreError, streamingUpdater, type FeatureRow, type FeatureViewInfo } from '../../../core/features/index.ts';
import { onlineStore, type OnlineStore } from '../../../connectors/redis/index.ts';
import { fraudFeatures } from '../../../jobs/fraud/featureView.ts';
import { TransactionGenerator, type Transaction } from '../../../jobs/fraud/transactions.ts';
import { startRedis, type TestRedis } from '../../kit/redis.ts';

const H = 3_600_000;
let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(() => redis.stop());

function transactions(count: number, seed: number): Transaction[] {
  const gen = new TransactionGenerator({ seed });
  return Array.from({ length: count }, () => gen.next());
}

/** The newest row per entity, as the online store should hold it. */
function latestRows(rows: readonly FeatureRow[]): Map<string, FeatureRow> {
  const latest = new Map<string, FeatureRow>();
  for (const row of rows) latest.set(row.entity, row);
  return latest;
}

/** The view with TTLs lifted, to read back exactly what Redis holds whatever its age. */
const noTtl: FeatureViewInfo = { ...fraudFeatures, features: fraudFeatures.features.map((f) => ({ ...f, ttlMs: Number.POSITIVE_INFINITY })) };

async function open(t: { after(fn: () => Promise<void>): void }, clock: TestClock, extra: Partial<Parameters<typeof onlineStore>[0]> = {}): Promise<OnlineStore> {
  // A generous command timeout: these tests check values, not timeouts, on a loaded machine.
  const store = await onlineStore({ url: redis.url, clock, maxReconnectDelayMs: 50, commandTimeoutMs: 5000, ...extra });
  t.after(() => store.close());
  return store;
}

test('streaming, offline and Redis hold the same values bit for bit', async (t) => {
  const txs = transactions(5000, 11);
  const stream = streamingUpdater(fraudFeatures);
  const streamed = txs.map((tx) => stream(tx));
  const offline = computeRows(fraudFeatures, txs);
  const clock = new TestClock(txs.at(-1)!.timestamp);
  const store = await open(t, clock);
  for (let i = 0; i < streamed.length; i += 500) assert.equal(await store.materialize(streamed.slice(i, i + 500)), true);

  const expected = latestRows(offline);
  const entities = [...expected.keys()];
  const served = await store.lookup(noTtl, entities);
  let compared = 0;
  for (const got of served) {
    const want = expected.get(got.entity)!;
    assert.equal(got.eventTime, want.eventTime);
    for (const name of fraudFeatures.featureNames) {
      const value = got.values[name]!;
      assert.equal(value.status, 'fresh');
      assert.ok(Object.is(value.value, want.values[name]), `${got.entity}.${name}: ${String(value.value)} != ${String(want.values[name])}`);
      compared++;
    }
  }
  assert.equal(compared, entities.length * 10);
  assert.ok(entities.length > 1000);
  for (const [i, row] of streamed.entries()) assert.deepEqual(row, offline[i]);
});

test('TTL on an injected clock: an expired value is the default with status expired, never fresh', async (t) => {
  const clock = new TestClock(1_000 * H);
  const store = await open(t, clock);
  const row: FeatureRow = { view: fraudFeatures.name, entity: 'ttl-user', eventTime: clock.now(), values: {} };
  for (const [i, name] of fraudFeatures.featureNames.entries()) row.values[name] = Math.fround(0.1 * (i + 1));
  assert.equal(await store.materialize([row]), true);

  clock.advance(H); // exactly the TTL of tx_count_1h: still valid
  let [u] = await store.lookup(fraudFeatures, ['ttl-user']);
  assert.deepEqual(u!.values.tx_count_1h, { value: Math.fround(0.3), status: 'fresh', ageMs: H });

  clock.advance(1);
  [u] = await store.lookup(fraudFeatures, ['ttl-user']);
  assert.deepEqual(u!.values.tx_count_1h, { value: 0, status: 'default', reason: 'expired', ageMs: H + 1 });
  assert.equal(u!.values.tx_count_24h!.status, 'fresh');

  const [nobody] = await store.lookup(fraudFeatures, ['no-such-user']);
  assert.deepEqual(nobody!.values.new_merchant, { value: 1, status: 'default', reason: 'missing', ageMs: null });
  assert.equal(nobody!.eventTime, null);

  clock.advance(24 * H);
  [u] = await store.lookup(fraudFeatures, ['ttl-user']);
  assert.equal(u!.values.tx_count_24h!.status, 'default');
  assert.equal(u!.values.tx_count_24h!.reason, 'expired');
  assert.equal(u!.values.amount_log!.status, 'fresh');
  const stats = store.stats().lookup;
  assert.equal(stats.defaultMissing, 10);
  assert.equal(stats.defaultExpired, 1 + 2);
});

test('a refreshMs cache answers without Redis and counts hits', async (t) => {
  const clock = new TestClock(5 * H);
  const store = await open(t, clock, { refreshMs: 1000 });
  await store.materialize([{ view: fraudFeatures.name, entity: 'hot', eventTime: clock.now(), values: { amount_log: 1 } }]);
  await store.lookup(fraudFeatures, ['hot']);
  const [again] = await store.lookup(fraudFeatures, ['hot']);
  assert.equal(again!.values.amount_log!.status, 'fresh');
  assert.equal(store.stats().lookup.cacheHits, 1);
  clock.advance(1000);
  await store.lookup(fraudFeatures, ['hot']);
  assert.equal(store.stats().lookup.cacheHits, 1, 'a cache entry older than refreshMs goes back to Redis');
});

test('an unreachable Redis at start is one line naming the URL, --redis and REDIS_URL', async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  const url = `redis://127.0.0.1:${port}`;
  await assert.rejects(onlineStore({ url, connectTimeoutMs: 500 }), (error: unknown) => {
    assert.ok(error instanceof FeatureStoreError);
    assert.equal(error.retriable, true);
    assert.ok(!error.message.includes('\n'));
    assert.match(error.message, new RegExp(`^cannot reach Redis at ${url} .*--redis redis://host:port or REDIS_URL$`));
    return true;
  });
});
