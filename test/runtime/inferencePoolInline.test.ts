import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { InferencePool } from '../../runtime/inferencePool.ts';

// inlineRows: batches of at most that many rows are scored on the calling thread (no hop to a
// worker) while no batch is in a worker, others on a worker, with the same scores either way.
const MODEL = 'models/fraud-v1.onnx';
const features = (rows: number) => Float32Array.from({ length: rows * 10 }, (_, i) => ((i * 7) % 13) / 13);

describe('InferencePool inlineRows', () => {
  const inline = new InferencePool({ workers: 1, inlineRows: 4 });
  const pooled = new InferencePool({ workers: 1 });
  after(async () => {
    await inline.close();
    await pooled.close();
  });

  it('scores a batch of up to inlineRows rows on the calling thread, a larger one on a worker', async () => {
    const model = inline.model(MODEL);
    await inline.ready();
    const small = await model.run({ features: features(3), rows: 3, columns: 10, timeoutMs: 5000 });
    const large = await model.run({ features: features(8), rows: 8, columns: 10, timeoutMs: 5000 });
    assert.equal(small.worker?.threadId, threadId);
    assert.notEqual(large.worker?.threadId, threadId);
  });

  it('sends a small batch to a worker too while another batch is in one: it would wait there and hold this thread', async () => {
    const model = inline.model(MODEL);
    await inline.ready();
    const large = model.run({ features: features(8), rows: 8, columns: 10, timeoutMs: 5000 });
    const small = model.run({ features: features(3), rows: 3, columns: 10, timeoutMs: 5000 });
    const [big, little] = await Promise.all([large, small]);
    assert.notEqual(big.worker?.threadId, threadId);
    assert.notEqual(little.worker?.threadId, threadId, 'scored on the calling thread while the pool was busy');
    // Once the pool is idle again, small batches are scored here again.
    assert.equal((await model.run({ features: features(3), rows: 3, columns: 10, timeoutMs: 5000 })).worker?.threadId, threadId);
  });

  it('gives the scores a worker gives', async () => {
    const here = await inline.model(MODEL).run({ features: features(4), rows: 4, columns: 10, timeoutMs: 5000 });
    const there = pooled.model(MODEL);
    await pooled.ready();
    const fromWorker = await there.run({ features: features(4), rows: 4, columns: 10, timeoutMs: 5000 });
    assert.notEqual(fromWorker.worker?.threadId, threadId);
    assert.deepEqual([...here.scores], [...fromWorker.scores]);
    assert.equal(here.modelVersion, fromWorker.modelVersion);
  });

  it('refuses a row limit that is not a whole number of 0 or more, in one line', () => {
    assert.throws(() => new InferencePool({ workers: 1, inlineRows: -1 }), /^InvalidOptionError: inlineRows \(SLUICE_INLINE_ROWS\) must be a whole number, 0 or more \(got -1\)$/m);
  });
});
