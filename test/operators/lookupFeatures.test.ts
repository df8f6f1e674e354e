import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { onlineStore } from '../../connectors/redis/index.ts';
import { TestClock } from '../../core/clock.ts';
import { featureView, latest, windowCount, eventWindow, type FeatureRow } from '../../core/features/index.ts';
import { defineJob, input, output, setting } from '../../core/index.ts';
import { Instrumentation } from '../../core/instrumentation.ts';
import { lookupFeatures } from '../../operators/index.ts';
import { JobMetrics } from '../../runtime/telemetry/jobMetrics.ts';
import { testDriver } from '../../runtime/testing/testDriver.ts';
import { runTestJob } from '../kit/jobs.ts';
import { startRedis, type TestRedis } from '../kit/redis.ts';

/** Merchant risk, as another pipeline would compute and write it. */
interface Payment {
  merchant: string;
  amount: number;
  at: number;
}
const merchantRisk = featureView({
  name: 'merchant_risk_test',
  entity: { name: 'merchant', key: (p: Payment) => p.merchant },
  eventTime: (p) => p.at,
  state: { recent: eventWindow<Payment>({ retain: '1d' }), last: latest((p: Payment) => p.amount) },
  features: {
    payments_1h: { type: 'int', ttl: '1h', default: 0, value: ({ state, time }) => windowCount(state.recent, time, '1h') },
    last_amount: { type: 'float64', ttl: '7d', default: -1, value: ({ state }) => state.last.value ?? -1 },
  },
});

const T0 = Date.UTC(2026, 0, 1);
const row = (merchant: string, eventTime: number, payments: number, last: number): FeatureRow => ({ view: merchantRisk.name, entity: merchant, eventTime, values: { payments_1h: payments, last_amount: last } });

const job = defineJob({
  name: 'payments-with-risk',
  settings: { redis: setting.optionalString('online store') },
  inputs: { payments: input('payments', { parse: (v) => v as { id: string; merchant: string } }, { key: (p) => p.merchant }) },
  outputs: { out: output<{ id: string; risk: number; status: string; reason: string | undefined; age: number | null; last: number }>('out') },
  pipeline: ({ payments }, { settings }) =>
    payments.pipe(
      lookupFeatures('merchant_risk_test', {
        redis: settings.redis,
        entity: (p: { id: string; merchant: string }) => p.merchant,
        ttl: '10m',
        as: (p, f) => ({ id: p.id, risk: f.values.payments_1h!.value as number, status: f.values.payments_1h!.status, reason: f.values.payments_1h!.reason, age: f.values.payments_1h!.ageMs, last: f.values.last_amount!.value as number }),
      }),
    ),
});

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
  const store = await onlineStore({ url: redis.url, clock: new TestClock(T0) });
  assert.equal(await store.materialize([row('m1', T0, 3, 12.5), row('m2', T0 - 2 * 3600_000, 9, 99)]), true);
  await store.close();
});
after(() => redis.stop());

test('lookupFeatures serves fresh values with their age, and an expired value as its default, on virtual time', async (t) => {
  const driver = await testDriver(job, { settings: { redis: redis.url }, startTime: T0 + 30 * 60_000 });
  t.after(() => driver.close());
  driver.inputs.payments.pipe({ id: 'p1', merchant: 'm1' });
  driver.inputs.payments.pipe({ id: 'p2', merchant: 'm2' });
  driver.inputs.payments.pipe({ id: 'p3', merchant: 'nobody' });
  assert.deepEqual(await driver.outputs.out.read(), [
    { id: 'p1', risk: 3, status: 'fresh', reason: undefined, age: 30 * 60_000, last: 12.5 },
    { id: 'p2', risk: 0, status: 'default', reason: 'expired', age: 2.5 * 3600_000, last: 99 },
    { id: 'p3', risk: 0, status: 'default', reason: 'missing', age: null, last: -1 },
  ]);
  await driver.advanceTime('31m'); // m1's payments_1h is now 61 min old: past its 1 h TTL
  driver.inputs.payments.pipe({ id: 'p4', merchant: 'm1' });
  assert.deepEqual(await driver.outputs.out.read(), [{ id: 'p4', risk: 0, status: 'default', reason: 'expired', age: 61 * 60_000, last: 12.5 }]);
});

test('lookupFeatures without an online store serves every default (an embedded run needs no Redis)', async (t) => {
  const driver = await testDriver(job);
  t.after(() => driver.close());
  driver.inputs.payments.pipe({ id: 'p1', merchant: 'm1' });
  assert.deepEqual(await driver.outputs.out.read(), [{ id: 'p1', risk: 0, status: 'default', reason: 'missing', age: null, last: -1 }]);
});

test('lookups by status and store errors reach the job metrics; a frozen Redis serves the cache, never fresh', async (t) => {
  const instrumentation = new Instrumentation();
  const metrics = new JobMetrics({ jobName: 'payments-with-risk', defaultMetrics: false });
  metrics.subscribe(instrumentation);
  const payments = ['m1', 'm1', 'nobody'].map((merchant, i) => ({ id: `p${i}`, merchant }));
  t.after(() => redis.thaw());
  const { outputs } = await runTestJob(job, {
    sources: {
      payments: generatorSource({
        name: 'payments',
        count: payments.length,
        ratePerSecond: 10, // one record per micro-batch
        make: (i) => {
          if (i === 1) redis.freeze(); // SIGSTOP: connected, answering nothing
          return payments[i]!;
        },
        key: (p) => p.merchant,
      }),
    },
    settings: { redis: redis.url },
    engine: { instrumentation, clock: new TestClock(T0 + 60_000) },
  });
  redis.thaw();
  assert.deepEqual((outputs.out!.values as { status: string }[]).map((o) => o.status), ['fresh', 'cached', 'default']);
  const text = await metrics.registry.metrics();
  const count = (status: string) => Number(new RegExp(`sluice_feature_lookups_total\\{view="merchant_risk_test",status="${status}"[^}]*\\} (\\d+)`).exec(text)?.[1]);
  assert.deepEqual([count('fresh'), count('cached'), count('default_missing')], [2, 2, 2]);
  assert.match(text, /sluice_feature_store_errors_total\{view="merchant_risk_test",operation="lookup"[^}]*\} [12]\n/);
});
