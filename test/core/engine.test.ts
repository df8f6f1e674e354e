import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pipe } from 'rxjs';
import { defineJob, type Sink, type Source } from '../../core/job.ts';
import { collectSink } from '../../connectors/collectSink.ts';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { filterValue } from '../../operators/filterValue.ts';
import { mapValue } from '../../operators/mapValue.ts';
import { tryMap } from '../../operators/tryMap.ts';
import type { InferencePool } from '../../runtime/inferencePool.ts';
import { runTestJob, startTestJob, testPool } from '../kit/jobs.ts';

describe('engine', () => {
  let pool: InferencePool;
  before(() => {
    pool = testPool(1);
  });
  after(() => pool.close());

  it('with a slow sink keeps in-flight within the budget, makes the source wait, and loses nothing', async () => {
    const sink = collectSink<number>({ delayMs: 3 });
    let maxEmittedAhead = 0;
    let written = 0;
    const budget = 64;
    const job = defineJob<number, number>({
      name: 'slow-sink',
      source: () => generatorSource({ count: 5000, make: (i) => i }),
      pipeline: () =>
        mapValue((n, record) => {
          // The source may only be `budget` records ahead of what the sink has finished.
          maxEmittedAhead = Math.max(maxEmittedAhead, record.position.offset + 1 - written);
          return n;
        }),
      sink: () => ({
        name: 'counting-slow',
        write: async (records) => {
          await sink.write(records);
          written += records.length;
        },
      }),
    });
    const { stats } = await runTestJob(job, { inference: pool, maxInFlight: budget });
    assert.equal(stats.out, 5000);
    assert.deepEqual(sink.values, Array.from({ length: 5000 }, (_, i) => i), 'every record, in order');
    assert.ok(stats.peakInFlight <= budget, `peak in flight ${stats.peakInFlight} > ${budget}`);
    assert.ok(maxEmittedAhead <= budget, `source ran ${maxEmittedAhead} records ahead of the sink`);
    assert.ok(sink.writes > 5000 / budget - 1, 'the sink was written in budget-sized pieces, so the source waited');
  });

  it('counts filtered records as done and dead letters as dead-lettered: in = out + dead + filtered', async () => {
    const sink = collectSink<number>();
    const job = defineJob<number, number>({
      name: 'routes',
      source: () => generatorSource({ count: 1000, make: (i) => i }),
      pipeline: (ctx) =>
        pipe(
          filterValue((n) => n % 10 !== 0),
          tryMap(ctx, 'check', (n) => {
            if (n % 7 === 0) throw new Error(`${n} is a multiple of 7`);
            return n;
          }),
        ),
      sink: () => sink,
    });
    const { stats, deadLetters } = await runTestJob(job, { inference: pool });
    assert.equal(stats.in, 1000);
    assert.equal(stats.dropped, 100);
    assert.equal(stats.deadLettered, deadLetters.length);
    assert.equal(stats.out + stats.deadLettered + stats.dropped, stats.in);
    assert.equal(deadLetters[0]!.reason, '7 is a multiple of 7');
    assert.equal(deadLetters[0]!.stage, 'check');
    assert.equal(stats.inFlight, 0);
  });

  it('stops on request: the source stops fetching, everything taken is drained and written', async () => {
    const sink = collectSink<number>({ delayMs: 1 });
    const job = defineJob<number, number>({
      name: 'endless',
      source: () => generatorSource({ count: Infinity, make: (i) => i }),
      pipeline: () => mapValue((n) => n),
      sink: () => sink,
    });
    const { running } = startTestJob(job, { inference: pool, maxInFlight: 200 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    running.stop();
    const stats = await running.done;
    assert.ok(stats.in > 0);
    assert.equal(stats.out, stats.in, 'every record taken was written');
    assert.deepEqual(sink.values, Array.from({ length: stats.in }, (_, i) => i));
  });

  it('fails with one message naming the sink when a sink write fails', async () => {
    const failing: Sink<number> = { name: 'broken', write: async () => Promise.reject(new Error('disk full')) };
    const job = defineJob<number, number>({
      name: 'failing-sink',
      source: () => generatorSource({ count: 10, make: (i) => i }),
      pipeline: () => mapValue((n) => n),
      sink: () => failing,
    });
    await assert.rejects(runTestJob(job, { inference: pool }), { message: 'sink "broken" failed: disk full' });
  });

  it('sends what a source cannot decode to the dead-letter sink with the original bytes', async () => {
    const source: Source<number> = {
      name: 'bytes',
      async run(ctx) {
        ctx.emit({ value: 1, position: { topic: 'b', partition: 0, offset: 0 } });
        ctx.deadLetter({ value: undefined, position: { topic: 'b', partition: 0, offset: 1 }, original: Buffer.from('{oops') }, 'malformed JSON');
        ctx.emit({ value: 2, position: { topic: 'b', partition: 0, offset: 2 } });
      },
    };
    const sink = collectSink<number>();
    const job = defineJob<number, number>({ name: 'decode', source: () => source, pipeline: () => mapValue((n) => n), sink: () => sink });
    const { stats, deadLetters } = await runTestJob(job, { inference: pool });
    assert.deepEqual(sink.values, [1, 2]);
    assert.equal(stats.deadLettered, 1);
    assert.equal(Buffer.from(deadLetters[0]!.original!).toString(), '{oops');
    assert.equal(deadLetters[0]!.offset, 1);
  });
});
