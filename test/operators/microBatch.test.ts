import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { CompletionTracker } from '../../core/completion.ts';
import type { Envelope } from '../../core/record.ts';
import { microBatch } from '../../operators/microBatch.ts';

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
});
