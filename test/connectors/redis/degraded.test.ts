import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TestClock } from '../../../core/clock.ts';
import type { FeatureRow } from '../../../core/features/index.ts';
import { onlineStore } from '../../../connectors/redis/index.ts';
import { fraudFeatures } from '../../../jobs/fraud/featureView.ts';
import { eventually } from '../../kit/eventually.ts';
import { startRedis, type TestRedis } from '../../kit/redis.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(() => redis.stop());

function row(entity: string, eventTime: number, amountLog: number): FeatureRow {
  return { view: fraudFeatures.name, entity, eventTime, values: { amount_log: amountLog, tx_count_1h: amountLog } };
}

test('a slow Redis (frozen): lookups give up after the command timeout and serve the cache as cached', async (t) => {
  const clock = new TestClock(1_000_000);
  const store = await onlineStore({ url: redis.url, clock, commandTimeoutMs: 300, cacheTtlMs: 24 * 3_600_000 });
  t.after(() => store.close());
  t.after(() => redis.thaw());
  assert.equal(await store.materialize([row('slow', clock.now(), 0.5)]), true);
  await store.lookup(fraudFeatures, ['slow']);
  redis.freeze();
  clock.advance(1000);
  const started = Date.now();
  const [u] = await store.lookup(fraudFeatures, ['slow']);
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 3000, `gave up after ${took} ms`);
  assert.deepEqual(u!.values.amount_log, { value: 0.5, status: 'cached', ageMs: 1000 });
  clock.advance(3_600_000); // past tx_count_1h's TTL: even the cache must not serve it
  const [later] = await store.lookup(fraudFeatures, ['slow']);
  assert.equal(later!.values.tx_count_1h!.status, 'default');
  assert.equal(later!.values.tx_count_1h!.reason, 'expired');
  assert.equal(later!.values.amount_log!.status, 'cached');
  assert.equal(store.stats().lookup.redisFailures, 2);
  redis.thaw();
});

test('while Redis is down the buffer keeps the newest row per entity, and drops the least recently updated when full', async (t) => {
  const clock = new TestClock(2_000_000);
  const store = await onlineStore({ url: redis.url, clock, maxPending: 3, maxReconnectDelayMs: 50, commandTimeoutMs: 1000 });
  t.after(() => store.close());
  await redis.kill();
  t.after(() => redis.restart());
  await store.materialize([row('a', 10, 0.1), row('b', 10, 0.1), row('c', 10, 0.1)]);
  await store.materialize([row('a', 20, 0.2), row('a', 5, 0.05)]); // newer a kept, older ignored
  await store.materialize([row('d', 10, 0.1)]); // full: b (least recently updated) is dropped
  const stats = store.stats().materialize;
  assert.equal(stats.pending, 3);
  assert.equal(stats.rowsDropped, 1);
  assert.equal(stats.rowsWritten, 0);

  await redis.restart();
  await eventually('the buffer to drain once Redis is back', () => store.flush(), { timeoutMs: 15_000, everyMs: 25 });
  clock.set(30);
  // The reads have a connection of their own, which may reconnect after the writes' (a lookup
  // meanwhile serves defaults, as the store does while Redis is down): wait until it reads again.
  await eventually('lookups to read Redis again once it is back', async () => (await store.lookup(fraudFeatures, ['c']))[0]!.values.amount_log!.status === 'fresh', { timeoutMs: 15_000, everyMs: 25 });
  const got = await store.lookup(fraudFeatures, ['a', 'b', 'c', 'd']);
  assert.deepEqual(
    got.map((u) => [u.entity, u.eventTime, u.values.amount_log!.value]),
    [
      ['a', 20, Math.fround(0.2)],
      ['b', null, 0],
      ['c', 10, Math.fround(0.1)],
      ['d', 10, Math.fround(0.1)],
    ],
  );
});

test('a write that fails while newer rows arrive: the full buffer drops the least recently updated, not the newest', async (t) => {
  // A frozen Redis holds the write of fa, fb, fc until the command timeout; fa's newer row and fd
  // arrive meanwhile. The failed write's rows were updated before those, so fb (the oldest of
  // the four entities) is the one dropped. (A frozen server still runs the timed-out command
  // once thawed, so this reads what the buffer holds, not Redis.)
  const clock = new TestClock(3_000_000);
  const store = await onlineStore({ url: redis.url, clock, maxPending: 3, maxReconnectDelayMs: 50, commandTimeoutMs: 300 });
  t.after(() => store.close());
  t.after(() => redis.thaw());
  redis.freeze();
  const first = store.materialize([row('fa', 10, 0.1), row('fb', 10, 0.1), row('fc', 10, 0.1)]);
  await new Promise((r) => setTimeout(r, 50)); // that write is in flight now
  const second = store.materialize([row('fa', 20, 0.2)]);
  const third = store.materialize([row('fd', 10, 0.1)]);
  assert.deepEqual(await Promise.all([first, second, third]), [false, false, false]);
  assert.equal(store.stats().materialize.rowsDropped, 1);
  const pending = store.pendingRows().map((r) => `${r.entity}@${r.eventTime}`).sort();
  assert.deepEqual(pending, ['fa@20', 'fc@10', 'fd@10']);
  redis.thaw();
});
