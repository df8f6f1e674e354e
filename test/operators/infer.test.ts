import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { pipe } from 'rxjs';
import { defineJob } from '../../core/job.ts';
import type { InferenceService } from '../../core/inference.ts';
import { collectSink } from '../../connectors/collectSink.ts';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { infer, type Prediction } from '../../operators/infer.ts';
import { keyBy } from '../../operators/keyBy.ts';
import { microBatch } from '../../operators/microBatch.ts';
import type { InferencePool } from '../../runtime/inferencePool.ts';
import { models, runTestJob, testPool } from '../kit/jobs.ts';

interface Item {
  key: string;
  seq: number;
  features: number[];
}

/** The real pool, with each batch's answer held back by a random 0-15 ms, so batches finish out of order. */
function randomlyDelayed(pool: InferencePool, seed = 1): InferenceService {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return {
    workers: pool.workers,
    model(path) {
      const model = pool.model(path);
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

function scoringJob(options: { model: string; count: number; keys: number; timeoutMs?: number; batch?: number; features?: (i: number) => number[] }) {
  const sink = collectSink<{ item: Item; prediction: Prediction }>();
  const job = defineJob<Item, { item: Item; prediction: Prediction }>({
    name: 'scoring',
    source: () =>
      generatorSource({
        count: options.count,
        partitions: 4,
        make: (i) => ({ key: `k${i % options.keys}`, seq: i, features: options.features?.(i) ?? Array.from({ length: 10 }, (_, j) => ((i + j) % 7) / 7) }),
        key: (item) => item.key,
      }),
    pipeline: (ctx) =>
      pipe(
        keyBy((item) => item.key),
        microBatch({ maxSize: options.batch ?? 16, maxWaitMs: 2 }),
        infer(ctx, {
          model: options.model,
          columns: 10,
          features: (item) => item.features,
          fallbackScore: 1,
          timeoutMs: options.timeoutMs ?? 5000,
          concurrency: 8,
          output: (item, prediction) => ({ item, prediction }),
        }),
      ),
    sink: () => sink,
  });
  return { job, sink };
}

describe('infer', () => {
  let pool: InferencePool;
  before(() => {
    pool = testPool(4);
  });
  after(() => pool.close());

  it('keeps per-key order with 4 workers and randomly delayed batches', async () => {
    const { job, sink } = scoringJob({ model: models.fraud, count: 3000, keys: 13 });
    const { stats } = await runTestJob(job, { inference: randomlyDelayed(pool), maxInFlight: 500 });
    assert.equal(stats.out, 3000);
    const lastSeen = new Map<string, number>();
    for (const { item } of sink.values) {
      const previous = lastSeen.get(item.key) ?? -1;
      assert.ok(item.seq > previous, `key ${item.key}: ${item.seq} left after ${previous}`);
      lastSeen.set(item.key, item.seq);
    }
    assert.ok(sink.values.every(({ prediction }) => !prediction.fallback && prediction.score > 0 && prediction.score < 1));
  });

  it('runs onnxruntime inside the worker threads, not on the main thread', async () => {
    const model = pool.model(models.fraud);
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => model.run({ features: new Float32Array(64 * 10).fill(0.5), rows: 64, columns: 10, timeoutMs: 5000 })),
    );
    for (const run of runs) {
      assert.notEqual(run.worker.threadId, threadId);
      assert.equal(run.scores.length, 64);
      assert.equal(run.modelVersion, 'fraud-v1');
    }
    assert.ok(new Set(runs.map((r) => r.worker.threadId)).size > 1, 'batches spread over several workers');
  });

  it('gives a model that throws the safe default and a dead letter, and the job goes on', async () => {
    const { job, sink } = scoringJob({ model: models.wrongWidth, count: 200, keys: 5 });
    const { stats, deadLetters } = await runTestJob(job, { inference: pool });
    assert.equal(stats.out, 200, 'every record still gets a decision');
    assert.ok(sink.values.every(({ prediction }) => prediction.fallback && prediction.score === 1));
    assert.equal(deadLetters.length, 200);
    assert.match(deadLetters[0]!.reason, /wrong-width\.onnx failed/);
    assert.equal(deadLetters[0]!.stage, 'infer');
    assert.equal(stats.dropped, 0, 'a record both scored with the fallback and dead-lettered is not counted as dropped');
  });

  it('gives a model that hangs the safe default after its timeout, and the job goes on', async () => {
    const { job, sink } = scoringJob({ model: models.slow, count: 40, keys: 3, timeoutMs: 300, batch: 20 });
    const { stats, deadLetters } = await runTestJob(job, { inference: pool });
    assert.equal(stats.out, 40);
    assert.ok(sink.values.every(({ prediction }) => prediction.fallback));
    assert.equal(deadLetters.length, 40);
    assert.match(deadLetters[0]!.reason, /did not finish within 300 ms/);
    // The hung workers were replaced: the pool still scores.
    const again = await pool.model(models.fraud).run({ features: new Float32Array(10), rows: 1, columns: 10, timeoutMs: 5000 });
    assert.equal(again.scores.length, 1);
  });

  it('sends records with non-finite features to the dead-letter sink instead of the model', async () => {
    const { job, sink } = scoringJob({
      model: models.fraud,
      count: 100,
      keys: 4,
      features: (i) => Array.from({ length: 10 }, (_, j) => (i % 10 === 0 && j === 3 ? Number.NaN : 0.1)),
    });
    const { stats, deadLetters } = await runTestJob(job, { inference: pool });
    assert.equal(stats.in, 100);
    assert.equal(stats.out, 90);
    assert.equal(deadLetters.length, 10);
    assert.match(deadLetters[0]!.reason, /feature 3 is not a finite number \(NaN\)/);
    assert.equal(sink.values.length, 90);
  });
});
