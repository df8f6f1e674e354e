import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamicBatcher } from '../../../runtime/serve/dynamicBatcher.ts';
import { ManualTimer } from './kit.ts';

/** A fake model: the score of a row is the sum of its features; every call is recorded. */
function summingModel() {
  const calls: { rows: number; columns: number }[] = [];
  const score = async (features: Float32Array, rows: number, columns: number) => {
    calls.push({ rows, columns });
    const scores = new Float32Array(rows);
    for (let row = 0; row < rows; row += 1) for (let c = 0; c < columns; c += 1) scores[row]! += features[row * columns + c]!;
    return { scores, modelVersion: 'v7' };
  };
  return { calls, score };
}

/** `rows` rows of 2 features whose sums are start, start+1, ... */
function matrix(rows: number, start: number): Float32Array {
  return Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? start + i / 2 : 0));
}

describe('DynamicBatcher', () => {
  it('scores requests that arrive within max-delay in one model call and splits the answer back', async () => {
    const timer = new ManualTimer();
    const model = summingModel();
    const batches: { rows: number; requests: number }[] = [];
    const batcher = new DynamicBatcher({ maxBatch: 100, maxDelayMs: 5, score: model.score, timer, onBatch: (b) => batches.push(b) });
    const a = batcher.submit(matrix(1, 10), 1, 2);
    const b = batcher.submit(matrix(3, 20), 3, 2);
    const c = batcher.submit(matrix(2, 30), 2, 2);
    assert.equal(model.calls.length, 0, 'nothing is scored before the delay ends');
    assert.equal(batcher.waiting, 3);
    assert.deepEqual([...timer.pending.values()].map((t) => t.ms), [5], 'one timer for the batch, of max-delay');
    timer.fireAll();
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    assert.deepEqual(model.calls, [{ rows: 6, columns: 2 }]);
    assert.deepEqual(Array.from(ra.scores), [10]);
    assert.deepEqual(Array.from(rb.scores), [20, 21, 22]);
    assert.deepEqual(Array.from(rc.scores), [30, 31]);
    assert.equal(rb.modelVersion, 'v7');
    assert.deepEqual(rc.batch, { rows: 6, requests: 3 });
    assert.deepEqual(batches, [{ rows: 6, requests: 3 }]);
    assert.equal(batcher.waiting, 0);
  });

  it('sends a batch as soon as it holds max-batch rows, without waiting', async () => {
    const timer = new ManualTimer();
    const model = summingModel();
    const batcher = new DynamicBatcher({ maxBatch: 4, maxDelayMs: 1000, score: model.score, timer });
    const first = batcher.submit(matrix(2, 0), 2, 2);
    const second = batcher.submit(matrix(2, 2), 2, 2);
    assert.equal(timer.pending.size, 0, 'the full batch cancelled its timer');
    await Promise.all([first, second]);
    assert.deepEqual(model.calls, [{ rows: 4, columns: 2 }]);
  });

  it('never lets a batch grow past max-batch: a request that does not fit starts the next one', async () => {
    const timer = new ManualTimer();
    const model = summingModel();
    const batcher = new DynamicBatcher({ maxBatch: 4, maxDelayMs: 1, score: model.score, timer });
    const answers = [batcher.submit(matrix(3, 0), 3, 2), batcher.submit(matrix(3, 3), 3, 2), batcher.submit(matrix(6, 6), 6, 2)];
    timer.fireAll();
    const results = await Promise.all(answers);
    assert.deepEqual(model.calls, [{ rows: 3, columns: 2 }, { rows: 3, columns: 2 }, { rows: 6, columns: 2 }], 'a request larger than max-batch is scored alone, not split');
    assert.deepEqual(Array.from(results[2]!.scores), [6, 7, 8, 9, 10, 11]);
  });

  it('keeps rows of different widths in different model calls', async () => {
    const timer = new ManualTimer();
    const model = summingModel();
    const batcher = new DynamicBatcher({ maxBatch: 100, maxDelayMs: 1, score: model.score, timer });
    const answers = [batcher.submit(new Float32Array([1, 2]), 1, 2), batcher.submit(new Float32Array([1, 2, 3]), 1, 3)];
    timer.fireAll();
    const [two, three] = await Promise.all(answers);
    assert.deepEqual(model.calls, [{ rows: 1, columns: 2 }, { rows: 1, columns: 3 }]);
    assert.deepEqual([two.scores[0], three.scores[0]], [3, 6]);
  });

  it('rejects every request of a batch the model fails, and goes on with the next batch', async () => {
    const timer = new ManualTimer();
    let fail = true;
    const batcher = new DynamicBatcher({
      maxBatch: 100,
      maxDelayMs: 1,
      timer,
      score: async (_f, rows) => {
        if (fail) throw new Error('model exploded');
        return { scores: new Float32Array(rows).fill(0.5), modelVersion: 'v1' };
      },
    });
    const failed = [batcher.submit(matrix(1, 0), 1, 2), batcher.submit(matrix(1, 0), 1, 2)];
    timer.fireAll();
    for (const answer of failed) await assert.rejects(answer, /model exploded/);
    fail = false;
    const next = batcher.submit(matrix(2, 0), 2, 2);
    timer.fireAll();
    assert.deepEqual(Array.from((await next).scores), [0.5, 0.5]);
  });

  it('drain() sends what waits and resolves once the model has answered', async () => {
    const timer = new ManualTimer();
    const model = summingModel();
    const batcher = new DynamicBatcher({ maxBatch: 100, maxDelayMs: 60_000, score: model.score, timer });
    const answer = batcher.submit(matrix(1, 4), 1, 2);
    await batcher.drain();
    assert.equal(timer.pending.size, 0);
    assert.equal(batcher.running, 0);
    assert.deepEqual(Array.from((await answer).scores), [4]);
  });

  it('refuses options out of range with exact messages', () => {
    const { score } = summingModel();
    assert.throws(() => new DynamicBatcher({ maxBatch: 0, maxDelayMs: 1, score }), /^InvalidOptionError: maxBatch must be a positive integer \(got 0\)$/);
    assert.throws(() => new DynamicBatcher({ maxBatch: 8, maxDelayMs: -1, score }), /maxDelayMs must be a non-negative number \(got -1\)/);
  });
});
