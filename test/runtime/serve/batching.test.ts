import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ModelError } from '../../../core/errors.ts';
import type { InferenceService } from '../../../core/inference.ts';
import { InferencePool } from '../../../runtime/inferencePool.ts';
import { startModelService, type ModelService } from '../../../runtime/serve/modelService.ts';
import { eventually } from '../../kit/eventually.ts';
import { CountingPool, directScores, featureRows, inferBody, ManualTimer, MODEL_PATH } from './kit.ts';

let pool: InferencePool;
const services: ModelService[] = [];

before(() => {
  pool = new InferencePool({ workers: 1 });
});

after(async () => {
  for (const service of services) await service.close();
  await pool?.close();
});

async function start(options: { pool: InferenceService; maxBatch: number; maxDelayMs: number; timer?: ManualTimer }): Promise<ModelService> {
  const service = await startModelService({ model: MODEL_PATH, port: 0, ...options });
  services.push(service);
  return service;
}

const post = (service: ModelService, features: Float32Array, rows: number) =>
  fetch(`${service.url}/v2/models/fraud-v1/infer`, { method: 'POST', body: inferBody(features, rows) }).then(async (response) => ({ status: response.status, body: (await response.json()) as { outputs?: { data: number[] }[]; error?: string } }));

describe('dynamic batching in the service', () => {
  it('scores concurrent requests that arrive within max-delay in ONE model call, each getting its own rows back', async () => {
    const counting = new CountingPool(pool);
    const timer = new ManualTimer();
    const service = await start({ pool: counting, maxBatch: 1000, maxDelayMs: 5, timer });
    const sizes = [1, 2, 3, 4, 5];
    const inputs = sizes.map((rows, i) => featureRows(rows, 100 + i));
    const answers = sizes.map((rows, i) => post(service, inputs[i]!, rows));
    await eventually('all five requests to wait for their batch', () => service.queue().waiting === sizes.length);
    assert.deepEqual(counting.calls, [], 'no model call before max-delay ends');
    timer.fireAll();
    const results = await Promise.all(answers);
    assert.deepEqual(counting.calls, [15], 'one model call of 1+2+3+4+5 rows');
    for (const [i, result] of results.entries()) {
      assert.equal(result.status, 200);
      assert.deepEqual(result.body.outputs![0]!.data, await directScores(pool, inputs[i]!, sizes[i]!), `request ${i} gets its own scores`);
    }
  });

  it('sends a full batch at once (max-batch rows) without waiting for the delay', async () => {
    const counting = new CountingPool(pool);
    // A delay far beyond the test's length: only reaching max-batch can send these.
    const service = await start({ pool: counting, maxBatch: 8, maxDelayMs: 600_000 });
    const results = await Promise.all([post(service, featureRows(4, 1), 4), post(service, featureRows(4, 2), 4)]);
    assert.deepEqual(results.map((r) => r.status), [200, 200]);
    assert.deepEqual(counting.calls, [8]);
  });

  it('answers every request of a failed model call with 500 and a message, and serves the next one', async () => {
    let failures = 1;
    const counting = new CountingPool(pool);
    const flaky: InferenceService = {
      workers: 1,
      ready: () => counting.ready(),
      model: (path) => {
        const handle = counting.model(path);
        return {
          path,
          run: (request) => (failures-- > 0 ? Promise.reject(new ModelError('model fraud-v1 failed: onnxruntime ran out of memory')) : handle.run(request)),
        };
      },
    };
    const timer = new ManualTimer();
    const service = await start({ pool: flaky, maxBatch: 100, maxDelayMs: 5, timer });
    const answers = [post(service, featureRows(1, 1), 1), post(service, featureRows(2, 2), 2)];
    await eventually('both requests to wait', () => service.queue().waiting === 2);
    timer.fireAll();
    for (const result of await Promise.all(answers)) {
      assert.equal(result.status, 500);
      assert.deepEqual(result.body, { error: 'model fraud-v1 failed: onnxruntime ran out of memory' });
    }
    const next = post(service, featureRows(1, 3), 1);
    await eventually('the next request to wait', () => service.queue().waiting === 1);
    timer.fireAll();
    assert.equal((await next).status, 200);
  });
});

describe('closing the service', () => {
  it('answers the requests still waiting for their batch, then refuses connections', async () => {
    const counting = new CountingPool(pool);
    const timer = new ManualTimer();
    const service = await startModelService({ model: MODEL_PATH, port: 0, pool: counting, maxBatch: 100, maxDelayMs: 5, timer });
    const answers = [post(service, featureRows(1, 7), 1), post(service, featureRows(2, 8), 2)];
    await eventually('both requests to wait', () => service.queue().waiting === 2);
    // No timer fires: close() itself sends the waiting batch.
    await service.close();
    assert.deepEqual((await Promise.all(answers)).map((r) => r.status), [200, 200]);
    assert.deepEqual(counting.calls, [3]);
    await assert.rejects(fetch(`${service.url}/v2/health/ready`));
  });
});
