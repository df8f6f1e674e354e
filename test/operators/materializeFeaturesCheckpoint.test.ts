import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { asyncScheduler, lastValueFrom, Subject, toArray } from 'rxjs';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { storedRow } from '../../connectors/redis/index.ts';
import { systemClock } from '../../core/clock.ts';
import type { CheckpointPart } from '../../core/checkpoint/coordinator.ts';
import { withOperatorContext, type OperatorContext } from '../../core/engine/operatorContext.ts';
import { computeRows, type FeatureRow } from '../../core/features/index.ts';
import { Instrumentation } from '../../core/instrumentation.ts';
import type { Envelope } from '../../core/record.ts';
import { materializeFeatures } from '../../operators/index.ts';
import { fraudFeatures } from '../../jobs/fraud/featureView.ts';
import { TransactionGenerator } from '../../jobs/fraud/transactions.ts';
import { FeatureMetrics } from '../../runtime/telemetry/featureMetrics.ts';
import { startRedis, type TestRedis } from '../kit/redis.ts';

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(() => redis.stop());

/** The engine's side, reduced to what the operator uses: a context that records checkpointed parts. */
function context(parts: Map<string, CheckpointPart>, instrumentation = new Instrumentation()): OperatorContext {
  return {
    jobName: 'checkpoint-test',
    state: undefined as never,
    scheduler: asyncScheduler,
    clock: systemClock,
    instrumentation,
    inference: undefined as never,
    deadLetter: () => undefined,
    checkpointed: (name, part) => parts.set(name, part),
    atEnd: () => 'fire',
    uniqueStage: (base) => base,
  };
}

function envelope(row: FeatureRow, offset: number): Envelope<{ row: FeatureRow }> {
  return {
    key: row.entity, value: { row }, timestamp: row.eventTime, position: { topic: 't', partition: 0, offset },
    headers: {}, trace: undefined, receivedAt: 0, original: undefined, ticket: { retain: () => undefined, release: () => undefined, done: false },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

test('rows buffered while Redis is down are in the checkpoint, and a restored operator writes them', async () => {
  const gen = new TransactionGenerator({ seed: 8, users: 40 });
  const rows = computeRows(fraudFeatures, Array.from({ length: 400 }, () => gen.next()));
  const parts = new Map<string, CheckpointPart>();
  const registry = new Registry();
  const instrumentation = new Instrumentation();
  new FeatureMetrics([registry]).subscribe(instrumentation);
  const input = new Subject<Envelope<{ row: FeatureRow }>>();
  const options = { redis: redis.url, writeIntervalMs: 10, store: { maxReconnectDelayMs: 50, minBackoffMs: 10_000 } };
  const out = withOperatorContext(context(parts, instrumentation), () => lastValueFrom(input.pipe(materializeFeatures(fraudFeatures, options), toArray())));
  rows.slice(0, 200).forEach((row, i) => input.next(envelope(row, i)));
  await settle();
  await new Promise((resolve) => setTimeout(resolve, 100)); // the first rows reach Redis
  await redis.kill();
  rows.slice(200).forEach((row, i) => input.next(envelope(row, 200 + i)));
  await new Promise((resolve) => setTimeout(resolve, 100)); // a write attempt fails: rows stay buffered
  const snapshot = parts.get('materialize')!.snapshot() as { pending: FeatureRow[] };
  const late = new Map<string, FeatureRow>();
  for (const row of rows.slice(200)) late.set(row.entity, row);
  const pending = new Map(snapshot.pending.map((row) => [row.entity, row]));
  for (const [user, row] of late) assert.deepEqual(pending.get(user), row, `user ${user}'s newest row is in the checkpoint`);
  input.complete();
  assert.equal((await out).length, rows.length, 'every record went on while Redis was down');
  const metrics = await registry.metrics();
  assert.match(metrics, /sluice_feature_rows_materialized_total\{view="fraud_user"\} 400\n/);
  assert.match(metrics, /sluice_feature_store_errors_total\{view="fraud_user",operation="materialize"\} [1-9]/);
  assert.match(metrics, /sluice_feature_rows_pending\{view="fraud_user"\} [1-9]/, 'the rows Redis never got are counted as pending');

  // A restart from that checkpoint, with Redis back (empty): the restored rows are written.
  await redis.restart();
  const restoredParts = new Map<string, CheckpointPart>();
  const again = new Subject<Envelope<{ row: FeatureRow }>>();
  const done = withOperatorContext(context(restoredParts), () => lastValueFrom(again.pipe(materializeFeatures(fraudFeatures, options), toArray())));
  restoredParts.get('materialize')!.restore(snapshot);
  again.complete();
  await done;
  const client = new Redis(redis.url);
  try {
    for (const [user, row] of late) assert.equal((await storedRow(client, fraudFeatures, user))?.eventTime, row.eventTime, `user ${user}`);
  } finally {
    client.disconnect();
  }
});
