import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { InferencePool } from '../../runtime/inferencePool.ts';
import { InlinePlacement } from '../../runtime/inlinePlacement.ts';
import { eventually } from '../kit/eventually.ts';

// inlineMs: a batch is scored on the calling thread (no hop to a worker) while no batch is in a
// worker and the model's batches of its size took at most that long lately; others on a worker,
// with the same scores either way.
const MODEL = 'models/fraud-v1.onnx';
const features = (rows: number) => Float32Array.from({ length: rows * 10 }, (_, i) => ((i * 7) % 13) / 13);
const run = (pool: InferencePool, rows: number) => pool.model(MODEL).run({ features: features(rows), rows, columns: 10, timeoutMs: 5000 });

/**
 * Scores batches of `rows` until one is scored on this thread (the first ones time the model and
 * load it here). The load runs in the background, so the limit is time (it only stops a hang).
 */
const untilHere = (pool: InferencePool, rows: number): Promise<void> =>
  eventually(`a batch of ${rows} rows scored on this thread`, async () => (await run(pool, rows)).worker.threadId === threadId, { everyMs: 10 });

describe('InferencePool inlineMs', () => {
  const inline = new InferencePool({ workers: 1, inlineMs: 1000 });
  const pooled = new InferencePool({ workers: 1, inlineMs: 0 });
  after(async () => {
    await inline.close();
    await pooled.close();
  });

  it('scores the first batch of a size on a worker, which times it; then batches of that size here', async () => {
    inline.model(MODEL);
    await inline.ready();
    const first = await run(inline, 8);
    assert.notEqual(first.worker.threadId, threadId, 'scored here before any batch of the model was timed');
    await untilHere(inline, 8);
    // A smaller batch is bounded by the larger one's time; a larger one was never timed.
    assert.equal((await run(inline, 3)).worker.threadId, threadId);
    assert.notEqual((await run(inline, 64)).worker.threadId, threadId);
  });

  it('sends a batch to a worker while another batch is in one: behind it, it would hold this thread up as well as wait', async () => {
    await untilHere(inline, 8);
    const [first, second] = await Promise.all([run(inline, 8), run(inline, 3)]);
    assert.equal(first.worker.threadId, threadId, 'the first, with no batch in a worker, is scored here');
    assert.equal(second.worker.threadId, threadId, 'the second waits its turn here behind the first, which is within the limit');
    // 256 rows were never timed: a worker; the 3 rows behind it too.
    const [large, small] = await Promise.all([run(inline, 256), run(inline, 3)]);
    assert.notEqual(large.worker.threadId, threadId);
    assert.notEqual(small.worker.threadId, threadId, 'scored on the calling thread while a batch was in a worker');
    // Once no batch is in a worker, small batches are scored here again.
    assert.equal((await run(inline, 3)).worker.threadId, threadId);
  });

  it('keeps every batch on the workers when the model takes longer than the limit, and with 0', async () => {
    const strict = new InferencePool({ workers: 1, inlineMs: 1e-6 });
    try {
      strict.model(MODEL);
      await strict.ready();
      for (let i = 0; i < 5; i += 1) assert.notEqual((await run(strict, 1)).worker.threadId, threadId);
    } finally {
      await strict.close();
    }
    pooled.model(MODEL);
    await pooled.ready();
    for (let i = 0; i < 5; i += 1) assert.notEqual((await run(pooled, 1)).worker.threadId, threadId);
  });

  it('fails a batch the model cannot take here as on a worker, with one ModelError line, and goes on', async () => {
    await untilHere(inline, 8);
    // 8 rows of 12 features: onnxruntime refuses the shape. infer dead-letters such a batch.
    await assert.rejects(
      inline.model(MODEL).run({ features: new Float32Array(8 * 12), rows: 8, columns: 12, timeoutMs: 5000 }),
      (error: Error) => error.name === 'ModelError' && /^model .*fraud-v1\.onnx failed: /.test(error.message),
    );
    assert.equal((await run(inline, 8)).worker.threadId, threadId, 'the next batch is scored here again');
  });

  it('gives the scores a worker gives', async () => {
    await untilHere(inline, 4);
    const here = await run(inline, 4);
    const there = await run(pooled, 4);
    assert.equal(here.worker.threadId, threadId);
    assert.notEqual(there.worker.threadId, threadId);
    assert.deepEqual([...here.scores], [...there.scores]);
    assert.equal(here.modelVersion, there.modelVersion);
  });

  it('refuses a limit that is not a number of 0 or more, in one line', () => {
    assert.throws(() => new InferencePool({ workers: 1, inlineMs: -1 }), /^InvalidOptionError: inlineMs \(SLUICE_INLINE_MS\) must be a number of ms, 0 or more \(got -1\)$/m);
  });
});

describe('InlinePlacement', () => {
  it('fits a batch once its size or a larger one was timed under the limit, and moves it back after a slow call', () => {
    const placement = new InlinePlacement(1);
    assert.equal(placement.fits('m', 100), false, 'nothing timed yet');
    placement.observe('m', 512, 0.4);
    assert.equal(placement.fits('m', 100), true);
    assert.equal(placement.fits('m', 512), true);
    assert.equal(placement.fits('m', 513), false, 'larger than anything timed');
    assert.equal(placement.fits('other', 1), false, 'per model');
    placement.observe('m', 128, 30); // one slow call of its class: 30 ms against a 1 ms limit
    assert.equal(placement.fits('m', 100), false);
    assert.equal(placement.fits('m', 300), true, 'the 512 class was not slow');
    for (let i = 0; i < 30; i += 1) placement.observe('m', 128, 0.1);
    assert.equal(placement.fits('m', 100), true, 'fast calls bring it back');
    assert.equal(new InlinePlacement(0).fits('m', 1), false, '0 turns it off');
  });
});
