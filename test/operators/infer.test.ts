import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { defineJob, input, output } from '../../core/index.ts';
import type { InferenceService } from '../../core/inference.ts';
import { infer, type InferOptions, type Prediction } from '../../operators/infer.ts';
import { keyBy } from '../../operators/keyBy.ts';
import { microBatch } from '../../operators/microBatch.ts';
import type { InferencePool } from '../../runtime/inferencePool.ts';
import { models, runTestJob, testPool } from '../kit/jobs.ts';
import { FIXTURE_MODELS, FRAUD_REGISTRY } from '../runtime/models/registryKit.ts';

interface Item {
  key: string;
  seq: number;
  features: number[];
}

type Scored = { item: Item; prediction: Prediction };

/** The real pool, with each batch's answer held back by a random 0-15 ms, so batches finish out of order. */
function randomlyDelayed(pool: InferencePool, seed = 1): InferenceService {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return {
    workers: pool.workers,
    ready: () => pool.ready(),
    model(path, options) {
      const model = pool.model(path, options);
      return {
        path: model.path,
        run: async (request) => {
          const delay = random() * 15;
          const result = await model.run(request);
          await new Promise((resolve) => setTimeout(resolve, delay));
          return result;
        },
      };
    },
  };
}

function scoringJob(options: { model: string; count: number; keys: number; timeoutMs?: number; batch?: number; columns?: number; rows?: (i: number) => number[] } & Partial<Omit<InferOptions<Item, Scored>, 'features'>>) {
  const { count, keys, batch, rows, ...inferOptions } = options;
  const job = defineJob({
    name: 'scoring',
    inputs: { items: input('items', { parse: (v: unknown) => v as Item }, { key: (item) => item.key }) },
    outputs: { scored: output<Scored>('scored') },
    pipeline: ({ items }) =>
      items.pipe(
        keyBy((item) => item.key),
        microBatch({ maxSize: batch ?? 16, maxWaitMs: 2 }),
        infer({
          columns: 10,
          features: (item: Item) => item.features,
          fallback: { score: 1 },
          timeoutMs: 5000,
          concurrency: 8,
          output: (item: Item, prediction: Prediction) => ({ item, prediction }),
          ...inferOptions,
        }),
      ),
  });
  const sources = {
    items: generatorSource({
      name: 'items',
      count,
      partitions: 4,
      make: (i) => ({ key: `k${i % keys}`, seq: i, features: rows?.(i) ?? Array.from({ length: 10 }, (_, j) => ((i + j) % 7) / 7) }),
      key: (item) => item.key,
    }),
  };
  return { job, sources };
}

describe('infer', () => {
  let pool: InferencePool;
  before(() => {
    pool = testPool(4);
  });
  // slow.onnx spins ~3 s of one core per batch, and its timed-out batches still run: stopping a
  // worker inside onnxruntime aborts the process, so wait for them however loaded the machine is.
  after(() => pool.close(180_000));

  it('keeps per-key order with 4 workers and randomly delayed batches', async () => {
    const { job, sources } = scoringJob({ model: models.fraud, count: 3000, keys: 13 });
    const { stats, outputs } = await runTestJob(job, { sources, inference: randomlyDelayed(pool), maxInFlight: 500 });
    const values = outputs.scored!.values as Scored[];
    assert.equal(stats.out, 3000);
    const lastSeen = new Map<string, number>();
    for (const { item } of values) {
      const previous = lastSeen.get(item.key) ?? -1;
      assert.ok(item.seq > previous, `key ${item.key}: ${item.seq} left after ${previous}`);
      lastSeen.set(item.key, item.seq);
    }
    assert.ok(values.every(({ prediction }) => !prediction.fallback && prediction.score > 0 && prediction.score < 1));
  });

  it('runs onnxruntime inside the worker threads, not on the main thread; a bare file is named by its metadata', async () => {
    const model = pool.model(models.fraud);
    // Every worker has the model loaded first; then rounds of concurrent batches (a loaded
    // machine may let one thread take a whole round).
    await pool.ready();
    const round = () => Promise.all(Array.from({ length: 8 }, () => model.run({ features: new Float32Array(64 * 10).fill(0.5), rows: 64, columns: 10, timeoutMs: 5000 })));
    const runs = await round();
    for (let i = 0; i < 4 && new Set(runs.map((r) => r.worker.threadId)).size < 2; i += 1) runs.push(...(await round()));
    for (const run of runs) {
      assert.notEqual(run.worker.threadId, threadId);
      assert.equal(run.scores.length, 64);
      assert.equal(run.modelVersion, 'fraud-v1');
    }
    assert.ok(new Set(runs.map((r) => r.worker.threadId)).size > 1, 'batches spread over several workers');
  });

  it('resolves a registry to its newest valid version and names it in every prediction', async () => {
    const { job, sources } = scoringJob({ model: FRAUD_REGISTRY, count: 500, keys: 5 });
    const { outputs } = await runTestJob(job, { sources, inference: pool });
    const values = outputs.scored!.values as Scored[];
    assert.equal(values.length, 500);
    assert.deepEqual([...new Set(values.map((v) => v.prediction.modelVersion))], ['fraud@1']);
    // Same file as fraud-v1.onnx: the same scores.
    const direct = await pool.model(models.fraud).run({ features: Float32Array.from(values[0]!.item.features), rows: 1, columns: 10, timeoutMs: 5000 });
    assert.equal(values[0]!.prediction.score, direct.scores[0]);
  });

  it('refuses at load, in one line, a job whose columns disagree with the manifest or the model', async () => {
    const { job, sources } = scoringJob({ model: `${FRAUD_REGISTRY}@1`, columns: 11, count: 10, keys: 1 });
    await assert.rejects(runTestJob(job, { sources, inference: pool }), (error: Error) => {
      assert.match(error.message, /fraud@1 .* does not fit: it takes 10 features \(features \[batch,10\]\), the job gives 11 \(columns\); its manifest names 10 features, the job gives 11/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    const wrongOutput = scoringJob({ model: models.fraud, scoreOutput: 'probability', count: 10, keys: 1 });
    await assert.rejects(runTestJob(wrongOutput.job, { sources: wrongOutput.sources, inference: pool }), /has no output "probability" \(its outputs: "score"\)/);
  });

  it('feeds several named inputs (float32 and int64) and picks the probability output of a label + probability model', async () => {
    // two-heads.onnx: p = sigmoid(sum(features[3]) + bucket); outputs label int64 and probability [1-p, p].
    const { job, sources } = scoringJob({
      model: join(FIXTURE_MODELS, 'two-heads.onnx'),
      columns: 3,
      count: 200,
      keys: 7,
      rows: (i) => [i % 3, 0.5, -1],
      featuresInput: 'features',
      inputs: { bucket: { values: (item: Item) => [(item.seq as number) % 4 - 2], columns: 1, dtype: 'int64' } },
      scoreOutput: 'probability',
    });
    const { outputs, deadLetters } = await runTestJob(job, { sources, inference: pool });
    assert.deepEqual(deadLetters, []);
    const values = outputs.scored!.values as Scored[];
    assert.equal(values.length, 200);
    for (const { item, prediction } of values) {
      const seq = item.seq as number;
      const expected = 1 / (1 + Math.exp(-((seq % 3) + 0.5 - 1 + ((seq % 4) - 2))));
      assert.ok(Math.abs(prediction.score - expected) < 1e-6, `seq ${item.seq}: ${prediction.score} vs ${expected}`);
      assert.equal(prediction.modelVersion, 'two-heads');
    }
    const unfed = scoringJob({ model: join(FIXTURE_MODELS, 'two-heads.onnx'), columns: 3, count: 10, keys: 1, rows: () => [0, 0, 0] });
    await assert.rejects(runTestJob(unfed.job, { sources: unfed.sources, inference: pool }), /its input "bucket" is not fed \(give infer\(\) `inputs` for it\)/);
  });

  it('gives a model that throws the safe default and a dead letter, and the job goes on', async () => {
    const { job, sources } = scoringJob({ model: models.wrongWidth, columns: undefined, count: 200, keys: 5 });
    const { stats, deadLetters, outputs } = await runTestJob(job, { sources, inference: pool });
    const values = outputs.scored!.values as Scored[];
    assert.equal(stats.out, 200, 'every record still gets a decision');
    assert.ok(values.every(({ prediction }) => prediction.fallback && prediction.score === 1));
    assert.equal(deadLetters.length, 200);
    assert.match(deadLetters[0]!.reason, /wrong-width\.onnx failed/);
    assert.equal(deadLetters[0]!.stage, 'infer');
    assert.equal(stats.dropped, 0, 'a record both scored with the fallback and dead-lettered is not counted as dropped');
  });

  it('gives a model that hangs the safe default after its timeout, and the job goes on', async () => {
    const { job, sources } = scoringJob({ model: models.slow, count: 20, keys: 3, timeoutMs: 300, batch: 20 });
    const { stats, deadLetters, outputs } = await runTestJob(job, { sources, inference: pool });
    assert.equal(stats.out, 20);
    assert.ok((outputs.scored!.values as Scored[]).every(({ prediction }) => prediction.fallback));
    assert.equal(deadLetters.length, 20);
    assert.match(deadLetters[0]!.reason, /did not finish within 300 ms/);
    const again = await pool.model(models.fraud).run({ features: new Float32Array(10), rows: 1, columns: 10, timeoutMs: 5000 });
    assert.equal(again.scores.length, 1);
  });

  it('sends records with non-finite features to the dead-letter sink instead of the model', async () => {
    const { job, sources } = scoringJob({
      model: models.fraud,
      count: 100,
      keys: 4,
      rows: (i) => Array.from({ length: 10 }, (_, j) => (i % 10 === 0 && j === 3 ? Number.NaN : 0.1)),
    });
    const { stats, deadLetters } = await runTestJob(job, { sources, inference: pool });
    assert.equal(stats.in, 100);
    assert.equal(stats.out, 90);
    assert.equal(deadLetters.length, 10);
    assert.match(deadLetters[0]!.reason, /feature 3 is not a finite number \(NaN\)/);
  });
});
