import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import { map, mergeMap, VirtualTimeScheduler } from 'rxjs';
import { CompletionTracker } from '../../core/completion.ts';
import { defineJob, input, output } from '../../core/index.ts';
import { Instrumentation } from '../../core/instrumentation.ts';
import { withValue, type Envelope } from '../../core/record.ts';
import { batchConfig, Batcher, microBatch, type Batch } from '../../operators/microBatch.ts';
import { testDriver } from '../../runtime/testing/index.ts';

const tracker = new CompletionTracker();
let offset = 0;
function envelope(value: string): Envelope<string> {
  const position = { topic: 't', partition: 0, offset: offset++ };
  return { key: undefined, value, timestamp: 0, position, headers: {}, trace: undefined, receivedAt: 0, original: undefined, ticket: tracker.track(position) };
}

function scheduler() {
  return new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
}

describe('microBatch', () => {
  it('cuts a batch as soon as it reaches maxSize', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('a b c d e|').pipe(map(envelope));
      const output = input.pipe(microBatch({ maxSize: 2, maxWaitMs: 1000, adaptive: false }), map((batch) => batch.records.map((r) => r.value).join('')));
      // One frame per letter: b arrives at 1, d at 3, e at 4 and the input ends at 5.
      expectObservable(output).toBe('-x-y-(z|)', { x: 'ab', y: 'cd', z: 'e' });
    });
  });

  it('cuts a batch when its first record has waited maxWaitMs, in virtual time', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('a 3ms b 20ms c 100ms |').pipe(map(envelope));
      const output = input.pipe(microBatch({ maxSize: 100, maxWaitMs: 10, adaptive: false }), map((batch) => batch.records.map((r) => r.value).join('')));
      // a at 0, b at 4: cut at 10 (a's wait); c at 25: cut at 35.
      expectObservable(output).toBe('10ms x 24ms y 90ms |', { x: 'ab', y: 'c' });
    });
  });

  it('flushes the last partial batch when the input ends', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('abc|').pipe(map(envelope));
      const output = input.pipe(microBatch({ maxSize: 10, maxWaitMs: 1000, adaptive: false }), map((batch) => batch.records.map((r) => r.value).join('')));
      expectObservable(output).toBe('---(x|)', { x: 'abc' });
    });
  });

  it('reports how long the batch was open', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('a 4ms b|').pipe(map(envelope));
      const output = input.pipe(microBatch({ maxSize: 2, maxWaitMs: 50, adaptive: false }), map((batch) => batch.closedAt - batch.openedAt));
      // a at frame 0, b at frame 5: the batch is full at 5.
      expectObservable(output).toBe('5ms x|', { x: 5 });
    });
  });

  it('adaptive (the default): a lone record goes on at once, without waiting out maxWaitMs', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('a 20ms b|').pipe(map(envelope));
      const output = input.pipe(microBatch({ maxSize: 100, maxWaitMs: 10 }), map((batch) => batch.records.map((r) => r.value).join('')));
      // a is cut in its own frame (0), not at 10; b likewise at 21.
      expectObservable(output).toBe('x 20ms y|', { x: 'a', y: 'b' });
    });
  });

  it('adaptive: records that arrive together (queued) form one batch, cut at maxSize', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const input = cold('(abcde) 5ms f|').pipe(map(envelope));
      const output = input.pipe(microBatch({ maxSize: 3, maxWaitMs: 1000 }), map((batch) => batch.records.map((r) => r.value).join('')));
      expectObservable(output).toBe('(xy) 8ms z|', { x: 'abc', y: 'de', z: 'f' });
    });
  });

  it('rejects a maxSize that is not a positive integer', () => {
    assert.throws(() => microBatch({ maxSize: 0, maxWaitMs: 1 }), { message: 'maxSize must be a positive integer (got 0)' });
  });

  it('rejects a targetP99Ms that is not a positive number', () => {
    assert.throws(() => microBatch({ targetP99Ms: 0 }), { message: 'targetP99Ms must be a positive number of milliseconds (got 0)' });
  });

  it('targetP99Ms: batches shrink while the p99 is above the target and grow back once it is met, in virtual time', () => {
    const scheduler = new VirtualTimeScheduler();
    const instrumentation = new Instrumentation();
    const batcher = new Batcher<string>(batchConfig({ maxSize: 8, maxWaitMs: 4, adaptive: false, targetP99Ms: 10 }), scheduler, instrumentation);
    const cut: { at: number; size: number }[] = [];
    // Writes take 30 ms (over the 10 ms target) for the first second, then 2 ms.
    const writeAfter = (at: number) => (at < 1000 ? 30 : 2);
    const emit = (batch: Batch<string>) => {
      cut.push({ at: scheduler.now(), size: batch.records.length });
      scheduler.schedule(() => instrumentation.emit('sink.written', { sink: 'test', records: batch.records, startedAt: 0, endedAt: 0 }), writeAfter(scheduler.now()));
    };
    // Eight records every 10 ms of virtual time, for 3 s.
    for (let at = 0; at < 3000; at += 10) scheduler.schedule(() => { for (let i = 0; i < 8; i += 1) batcher.next(envelope('r'), emit); }, at);
    scheduler.flush();
    batcher.finalize();
    const sizes = (from: number, to: number) => [...new Set(cut.filter((c) => c.at >= from && c.at < to).map((c) => c.size))];
    assert.deepEqual(sizes(0, 200), [8], 'full batches before the first look at the latency');
    // 8 → 4 → 2 → 1 after three windows of 200 ms over the target.
    assert.deepEqual(sizes(800, 1000), [1], `batch sizes ${JSON.stringify(sizes(0, 1000))}`);
    // Back under the target: +1 (an eighth of 8) per window, full again well before 3 s.
    assert.deepEqual(sizes(2800, 3000), [8], `batch sizes after the latency dropped ${JSON.stringify(sizes(1000, 3000))}`);
  });

  it('targetP99Ms: a target that is met leaves batches at maxSize', () => {
    const scheduler = new VirtualTimeScheduler();
    const instrumentation = new Instrumentation();
    const batcher = new Batcher<string>(batchConfig({ maxSize: 8, maxWaitMs: 4, adaptive: false, targetP99Ms: 50 }), scheduler, instrumentation);
    const sizes = new Set<number>();
    const emit = (batch: Batch<string>) => {
      sizes.add(batch.records.length);
      scheduler.schedule(() => instrumentation.emit('sink.written', { sink: 'test', records: batch.records, startedAt: 0, endedAt: 0 }), 20);
    };
    for (let at = 0; at < 2000; at += 10) scheduler.schedule(() => { for (let i = 0; i < 8; i += 1) batcher.next(envelope('r'), emit); }, at);
    scheduler.flush();
    batcher.finalize();
    assert.deepEqual([...sizes], [8]);
  });
});

describe('microBatch in a job (testDriver, virtual time)', () => {
  const job = defineJob({
    name: 'batch-sizes',
    inputs: { words: input('words', { parse: (value: unknown) => String(value) }) },
    outputs: { sized: output<{ word: string; batch: number }>('sized') },
    pipeline: ({ words }) =>
      words.pipe(
        microBatch({ maxSize: 100, maxWaitMs: 1000 }),
        mergeMap((batch: Batch<string>) => batch.records.map((record) => withValue(record, { word: record.value, batch: batch.records.length }))),
      ),
  });

  it('sends a lone record on without waiting out maxWaitMs (virtual time never moves)', async () => {
    const driver = await testDriver(job, { settleTimeoutMs: 2000 });
    const before = driver.now();
    driver.inputs.words.pipe('alone');
    // Were the batch waiting for its 1000 ms, read() would give up: virtual time only moves on advanceTime.
    assert.deepEqual(await driver.outputs.sized.read(), [{ word: 'alone', batch: 1 }]);
    assert.equal(driver.now(), before);
    await driver.close();
  });

  it('grows the batch when records queue up', async () => {
    const driver = await testDriver(job, { settleTimeoutMs: 2000 });
    driver.inputs.words.pipeAll(['a', 'b', 'c', 'd', 'e']);
    const sized = await driver.outputs.sized.read();
    assert.deepEqual(sized.map((s) => s.word), ['a', 'b', 'c', 'd', 'e']);
    assert.ok(sized.every((s) => s.batch > 1), `queued records went one by one: ${JSON.stringify(sized)}`);
    await driver.close();
  });
});
