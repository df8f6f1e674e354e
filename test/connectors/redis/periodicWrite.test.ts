// The periodic writer of materializeFeatures: one write of what gathered, in chunks, and rows
// that arrive during it wait for the next write (draining until empty chased the stream with
// back-to-back writes). Starts redis-server: run under flock /tmp/heavy.lock.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TestClock } from '../../../core/clock.ts';
import type { FeatureRow } from '../../../core/features/index.ts';
import { onlineStore } from '../../../connectors/redis/index.ts';
import { fraudFeatures } from '../../../jobs/fraud/featureView.ts';
import { startRedis, type TestRedis } from '../../kit/redis.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(() => redis.stop());

function rows(count: number, eventTime: number, value: number): FeatureRow[] {
  return Array.from({ length: count }, (_, i) => ({ view: fraudFeatures.name, entity: `p${i}`, eventTime, values: { amount_log: value, tx_count_1h: i } }));
}

test('flush({ once: true }) writes what was buffered at the call, in chunks, and leaves later rows for the next write', async (t) => {
  const clock = new TestClock(1_000);
  const store = await onlineStore({ url: redis.url, clock });
  t.after(() => store.close());
  store.buffer(rows(1_200, 100, 0.25)); // more than two chunks of 500
  const writing = store.flush({ once: true });
  store.buffer(rows(300, 200, 0.5)); // arrives during the write: newer rows of p0..p299
  assert.equal(await writing, true);
  let stats = store.stats().materialize;
  assert.equal(stats.rowsWritten, 1_200);
  assert.equal(stats.batchesWritten, 1);
  assert.equal(stats.pending, 300);
  const first = await store.lookup(fraudFeatures, ['p0', 'p299', 'p300', 'p1199']);
  assert.deepEqual(first.map((u) => [u.eventTime, u.values.amount_log!.value, u.values.tx_count_1h!.value]), [
    [100, 0.25, 0],
    [100, 0.25, 299],
    [100, 0.25, 300],
    [100, 0.25, 1199],
  ]);

  assert.equal(await store.flush({ once: true }), true);
  stats = store.stats().materialize;
  assert.equal(stats.rowsWritten, 1_500);
  assert.equal(stats.pending, 0);
  const second = await store.lookup(fraudFeatures, ['p0', 'p299', 'p300']);
  assert.deepEqual(second.map((u) => [u.eventTime, u.values.amount_log!.value]), [
    [200, 0.5],
    [200, 0.5],
    [100, 0.25],
  ]);
});

test('an older row never replaces a newer one, also after the newer one was written', async (t) => {
  const clock = new TestClock(1_000);
  const store = await onlineStore({ url: redis.url, clock });
  t.after(() => store.close());
  await store.materialize(rows(1, 500, 0.75).map((r) => ({ ...r, entity: 'late' })));
  await store.materialize(rows(1, 400, 0.125).map((r) => ({ ...r, entity: 'late' }))); // a late event
  const [late] = await store.lookup(fraudFeatures, ['late']);
  assert.deepEqual([late!.eventTime, late!.values.amount_log!.value], [500, 0.75]);
  assert.equal(store.stats().materialize.rowsWritten, 1);
});
