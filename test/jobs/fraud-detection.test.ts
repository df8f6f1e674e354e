import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { defineJob } from '../../core/job.ts';
import { collectSink } from '../../connectors/collectSink.ts';
import { generatorSource } from '../../connectors/generatorSource.ts';
import fraudJob from '../../jobs/fraud-detection.ts';
import { backfill, generate } from '../../jobs/fraud/backfill.ts';
import type { FraudDecision } from '../../jobs/fraud/decision.ts';
import type { Transaction } from '../../jobs/fraud/transactions.ts';
import { userFeatures, type FeaturedTransaction } from '../../jobs/fraud/userFeatures.ts';
import type { InferencePool } from '../../runtime/inferencePool.ts';
import { models, runTestJob, testEnvironment, testPool } from '../kit/jobs.ts';

describe('fraud-detection job', () => {
  let pool: InferencePool;
  let dir: string;
  before(() => {
    pool = testPool(2);
    dir = mkdtempSync(join(tmpdir(), 'sluice-fraud-'));
  });
  after(() => pool.close());

  it('sends garbage records to the dead-letter sink with a reason and finishes with in = out + dead-lettered', async () => {
    const good = [...generate(300, 3)];
    const garbage = [
      '{"id": "x1", "userId": "u1"',
      'not json at all',
      JSON.stringify({ ...good[0], amount: 'NaN' }),
      JSON.stringify({ ...good[1], userId: undefined }),
      JSON.stringify({ ...good[2], amount: -5 }),
      JSON.stringify({ ...good[3], cardPresent: 'yes' }),
      '[1, 2, 3]',
      'null',
    ];
    const lines = good.map((tx) => JSON.stringify(tx));
    garbage.forEach((line, i) => lines.splice(20 + i * 30, 0, line));
    const input = join(dir, 'mixed.jsonl');
    const output = join(dir, 'alerts.jsonl');
    writeFileSync(input, lines.join('\n') + '\n');

    const { stats, deadLetters } = await runTestJob(fraudJob, { inference: pool, env: testEnvironment({ input, output }) });
    assert.equal(stats.in, good.length + garbage.length);
    assert.equal(stats.out, good.length);
    assert.equal(stats.deadLettered, garbage.length);
    assert.equal(stats.in, stats.out + stats.deadLettered);
    const reasons = deadLetters.map((letter) => letter.reason);
    assert.match(reasons[0]!, /^malformed JSON/);
    assert.match(reasons[1]!, /^malformed JSON/);
    assert.match(reasons[2]!, /^invalid record: invalid transaction: amount/);
    assert.match(reasons[3]!, /userId/);
    assert.match(reasons[4]!, /amount/);
    assert.match(reasons[5]!, /cardPresent/);
    assert.deepEqual(
      deadLetters.map((letter) => Buffer.from(letter.original!).toString()),
      garbage,
      'each dead letter carries the original bytes',
    );
    const flagged = readFileSync(output, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as FraudDecision);
    assert.equal(flagged.length, stats.counted);
    assert.ok(flagged.every((decision) => decision.flagged && decision.modelVersion === 'fraud-v1'));
  });

  it('computes the same feature vectors streaming (keyed state over 4 partitions) as the offline backfill', async () => {
    const count = 5000;
    const offline = [...backfill(generate(count, 11))];
    const events = [...generate(count, 11)];
    const sink = collectSink<FeaturedTransaction>();
    const job = defineJob<Transaction, FeaturedTransaction>({
      name: 'features-only',
      source: () => generatorSource({ count, partitions: 4, make: (i) => events[i]!, key: (tx) => tx.userId, timestamp: (tx) => tx.timestamp }),
      pipeline: (ctx) => userFeatures(ctx),
      sink: () => sink,
    });
    await runTestJob(job, { inference: pool });
    assert.equal(sink.values.length, count);
    const online = new Map(sink.values.map((featured) => [featured.tx.id, featured.features]));
    for (const row of offline) {
      assert.deepEqual(Array.from(online.get(row.tx.id)!), Array.from(row.features), `features of ${row.tx.id}`);
    }
  });

  it('scores each transaction as the model does offline on the backfilled features', async () => {
    const count = 2000;
    const input = join(dir, 'clean.jsonl');
    writeFileSync(input, [...generate(count, 5)].map((tx) => JSON.stringify(tx)).join('\n'));
    const sink = collectSink<FraudDecision>();
    const job = { ...fraudJob, sink: () => sink };
    await runTestJob(job, { inference: pool, env: testEnvironment({ input }) });

    const rows = [...backfill(generate(count, 5))];
    const session = await ort.InferenceSession.create(models.fraud);
    const features = new Float32Array(count * 10);
    rows.forEach((row, i) => features.set(row.features, i * 10));
    const result = await session.run({ features: new ort.Tensor('float32', features, [count, 10]) });
    const expected = result.score!.data as Float32Array;
    const scores = new Map(sink.values.map((decision) => [decision.transactionId, decision.score]));
    rows.forEach((row, i) => assert.ok(Math.abs(scores.get(row.tx.id)! - expected[i]!) < 1e-5, `score of ${row.tx.id}`));
    // The decision applies the seed's 0.7 threshold.
    assert.ok(sink.values.every((decision) => decision.flagged === decision.score >= 0.7));
  });
});
