import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { Source, SourceContext } from '../../../core/job.ts';
import type { SourceRecord } from '../../../core/record.ts';
import { limitSources } from '../../../runtime/runLimits.ts';
import { BacklogWatch, threadLedger, threadLimits } from '../../../runtime/threads/threadLimits.ts';
import { Instrumentation } from '../../../core/instrumentation.ts';

/** A source offering `count` records of one partition per 2, in order, until stopped. */
function listSource(count: number, partitions = 1): Source<unknown> {
  return {
    name: 'list',
    async run(ctx) {
      for (let i = 0; i < count; i += 1) {
        if (ctx.signal.aborted) return;
        const record: SourceRecord<number> = { value: i, position: { topic: 't', partition: i % partitions, offset: Math.floor(i / partitions) } };
        const wait = ctx.emit(record);
        if (wait !== undefined) await wait;
        // Let the other "thread" run between records, as real threads interleave.
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

/** One thread's engine side: what it took, and its stop (the thread tells the main thread). */
function thread() {
  const taken: unknown[] = [];
  const stopping = new AbortController();
  const ctx = { emit: (record: unknown) => void taken.push(record), deadLetter: (record: unknown) => void taken.push(record), signal: stopping.signal, instrumentation: new Instrumentation() } as unknown as SourceContext<unknown>;
  return { ctx, taken, stopping };
}

describe('run limits shared by stream threads', () => {
  it('--max-records: threads together take exactly N; only the thread that took the last says so, once', async () => {
    const limits = threadLimits({ maxRecords: 25 })!;
    const said: number[] = [];
    const threads = [0, 1].map((index) => {
      const t = thread();
      const sources = limitSources({ list: listSource(100) }, { maxRecords: limits.maxRecords }, () => said.push(index), threadLedger(limits, () => {}));
      return { ...t, run: sources.list!.run(t.ctx) };
    });
    // Neither thread stops by itself past the limit (the main thread stops them): they offer all 100.
    await Promise.all(threads.map((t) => t.run));
    assert.equal(threads[0]!.taken.length + threads[1]!.taken.length, 25);
    assert.ok(threads[0]!.taken.length > 0 && threads[1]!.taken.length > 0, 'both threads took records');
    assert.equal(said.length, 1);
  });

  it('--max-records: the count is one count across real worker threads', async () => {
    const limits = threadLimits({ maxRecords: 30_000 })!;
    // Four threads race for 4 × 10,000 takes of 30,000 slots, each with its own ledger on the one buffer.
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
        .then((tsx) => tsx.tsImport(${JSON.stringify(new URL('../../../runtime/threads/threadLimits.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))
        .then(({ threadLedger }) => {
          const ledger = threadLedger(workerData, () => {});
          let taken = 0, last = 0;
          for (let i = 0; i < 10000; i += 1) {
            const took = ledger.take();
            if (took !== 'over') taken += 1;
            if (took === 'last') last += 1;
          }
          parentPort.postMessage({ taken, last });
        });`;
    const results = await Promise.all(
      [0, 1, 2, 3].map(
        () =>
          new Promise<{ taken: number; last: number }>((resolve, reject) => {
            const worker = new Worker(source, { eval: true, workerData: limits });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    assert.equal(results.reduce((sum, r) => sum + r.taken, 0), 30_000);
    assert.equal(results.reduce((sum, r) => sum + r.last, 0), 1);
    assert.equal(threadLedger(limits, () => {}).take(), 'over');
  });

  it('--until-caught-up: a thread tells each partition it read to the end once; the main thread ends the run when all are', async () => {
    const backlog = new Map([['t\u00000', 9], ['t\u00001', 9]]);
    const limits = threadLimits({ backlog })!;
    let ended = 0;
    const watch = new BacklogWatch(backlog, () => (ended += 1));
    const told: string[] = [];
    const stops: number[] = [];
    // Thread 0 reads partition 0, thread 1 partition 1 (20 records each, the backlog ends at offset 9).
    for (const partition of [0, 1]) {
      const t = thread();
      const only: Source<unknown> = { name: 'one', run: (ctx) => listSource(40, 2).run({ ...ctx, emit: (record) => (record.position.partition === partition ? ctx.emit(record) : undefined) }) };
      const sources = limitSources({ only }, { backlog }, () => stops.push(partition), threadLedger(limits, (key) => {
        told.push(key);
        watch.reached(key);
      }));
      await sources.only!.run(t.ctx);
      assert.equal(ended, partition, partition === 0 ? 'not ended while partition 1 is behind' : 'ended once both are read');
    }
    assert.deepEqual(told, ['t\u00000', 't\u00001']);
    assert.deepEqual(stops, [], 'a thread does not end the run itself');
  });

  it('--until-caught-up with nothing to catch up on ends at once', async () => {
    let ended = 0;
    new BacklogWatch(new Map(), () => (ended += 1));
    await Promise.resolve();
    assert.equal(ended, 1);
  });
});
