import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../kit/files.ts';
import * as ort from 'onnxruntime-node';
import { defineJob, input, output } from '../../core/index.ts';
import fraudJob from '../../jobs/fraud-detection.ts';
import { backfill, generate } from '../../jobs/fraud/backfill.ts';
import type { FraudDecision } from '../../jobs/fraud/decision.ts';
import { parseTransaction } from '../../jobs/fraud/transactions.ts';
import { userFeatures } from '../../jobs/fraud/userFeatures.ts';
import { map } from '../../operators/index.ts';
import { bindIO } from '../../runtime/bindIO.ts';
import type { InferencePool } from '../../runtime/inferencePool.ts';
import { testDriver } from '../../runtime/testing/index.ts';
import { models, runTestJob, testPool } from '../kit/jobs.ts';

describe('fraud-detection job', () => {
  let pool: InferencePool;
  let dir: string;
  before(() => {
    pool = testPool(2);
    dir = tempDir('sluice-fraud-');
  });
  after(() => pool.close());

  it('reads a JSONL file, sends garbage to the dead-letter sink with a reason, writes every decision: in = out + dead-lettered', async () => {
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
      JSON.stringify({ ...good[4], amount: 1e308 }),
      JSON.stringify({ ...good[5], timestamp: 1e308 }),
    ];
    const lines = good.map((tx) => JSON.stringify(tx));
    garbage.forEach((line, i) => lines.splice(20 + i * 25, 0, line));
    const file = join(dir, 'mixed.jsonl');
    const decisionsFile = join(dir, 'decisions.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const binding = bindIO(fraudJob, { kafka: undefined, topics: {}, inputFiles: { transactions: file }, outputFiles: { decisions: decisionsFile }, outputMode: 'overwrite', settings: {} });

    const { stats, deadLetters } = await runTestJob(fraudJob, { sources: binding.sources, sinks: binding.sinks, inference: pool });
    assert.equal(stats.in, good.length + garbage.length);
    assert.equal(stats.out, good.length);
    assert.equal(stats.deadLettered, garbage.length);
    const reasons = deadLetters.map((letter) => letter.reason);
    assert.match(reasons[0]!, /^malformed JSON/);
    assert.match(reasons[1]!, /^malformed JSON/);
    assert.match(reasons[2]!, /^invalid record: invalid transaction: amount/);
    assert.match(reasons[3]!, /userId/);
    assert.match(reasons[4]!, /amount/);
    assert.match(reasons[5]!, /cardPresent/);
    assert.match(reasons[8]!, /amount: .*1000000/, 'an absurd amount is out of bounds, not a purchase');
    assert.match(reasons[9]!, /timestamp/, 'an absurd timestamp is out of bounds');
    assert.ok(reasons.every((reason) => !reason.includes('\n')), 'every reason is one line');
    assert.deepEqual(
      deadLetters.map((letter) => Buffer.from(letter.original!).toString()),
      garbage,
      'each dead letter carries the original bytes',
    );
    const decisions = readFileSync(decisionsFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as FraudDecision);
    assert.equal(decisions.length, good.length);
    assert.equal(decisions.filter((d) => d.flagged).length, stats.counted);
    assert.ok(decisions.every((decision) => decision.modelVersion === 'fraud@1'), 'the registry version that scored each decision');
  });

  it('computes the same feature vectors streaming (keyed state) as the offline backfill', async () => {
    const count = 5000;
    const offline = [...backfill(generate(count, 11))];
    const featuresOnly = defineJob({
      name: 'features-only',
      inputs: { transactions: input('transactions', { parse: parseTransaction }, { key: (tx) => tx.userId, time: (tx) => tx.timestamp }) },
      outputs: { features: output<{ id: string; features: number[] }>('features') },
      pipeline: ({ transactions }) => transactions.pipe(userFeatures(), map((featured) => ({ id: featured.tx.id, features: Array.from(featured.features) }))),
    });
    const driver = await testDriver(featuresOnly);
    driver.inputs.transactions.pipeAll(generate(count, 11));
    const online = new Map((await driver.outputs.features.read()).map((row) => [row.id, row.features]));
    await driver.close();
    assert.equal(online.size, count);
    for (const row of offline) assert.deepEqual(online.get(row.tx.id), Array.from(row.features), `features of ${row.tx.id}`);
  });

  it('scores each transaction as the model does offline on the backfilled features, and applies the threshold', async () => {
    const count = 2000;
    const driver = await testDriver(fraudJob, { settings: { threshold: 0.7 } });
    driver.inputs.transactions.pipeAll(generate(count, 5));
    const decisions = await driver.outputs.decisions.read();
    await driver.close();
    assert.equal(decisions.length, count);

    const rows = [...backfill(generate(count, 5))];
    const session = await ort.InferenceSession.create(models.fraud);
    const features = new Float32Array(count * 10);
    rows.forEach((row, i) => features.set(row.features, i * 10));
    const result = await session.run({ features: new ort.Tensor('float32', features, [count, 10]) });
    const expected = result.score!.data as Float32Array;
    const scores = new Map(decisions.map((decision) => [decision.transactionId, decision.score]));
    rows.forEach((row, i) => assert.ok(Math.abs(scores.get(row.tx.id)! - expected[i]!) < 1e-5, `score of ${row.tx.id}`));
    assert.ok(decisions.every((decision) => decision.flagged === decision.score >= 0.7));
  });
});
