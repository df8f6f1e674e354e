import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from 'kafkajs';
import { messageBytes, messageBytesAtMost, RequestFill, requestChunks } from '../../../../connectors/kafka/producer/requestChunks.ts';

describe('requestChunks', () => {
  const message = (value: string) => ({ key: null, value });

  it('cuts sends at the byte bound, in order, across topics, a larger message alone', () => {
    const a = Array.from({ length: 5 }, (_, i) => message(`a${i}`.padEnd(100, 'x')));
    const b = [message('big'.padEnd(1000, 'y')), message('b1'.padEnd(100, 'x'))];
    const bound = messageBytes(a[0]!) * 2;
    const chunks = requestChunks([{ topic: 'a', messages: a }, { topic: 'b', messages: b }], bound);
    const shape = chunks.map((chunk) => chunk.map((t) => `${t.topic}:${t.messages.length}`).join('+'));
    assert.deepEqual(shape, ['a:2', 'a:2', 'a:1', 'b:1', 'b:1']);
    assert.deepEqual(chunks.flat().flatMap((t) => t.messages), [...a, ...b], 'every message once, in order');
    for (const chunk of chunks) {
      const bytes = chunk.flatMap((t) => t.messages).reduce((sum, m) => sum + messageBytes(m), 0);
      assert.ok(bytes <= bound || chunk.flatMap((t) => t.messages).length === 1, `${bytes} bytes in a chunk of several messages`);
    }
  });

  it('keeps a small send whole, and an empty one empty', () => {
    assert.equal(requestChunks([{ topic: 'a', messages: [message('x')] }, { topic: 'b', messages: [message('y')] }]).length, 1);
    assert.deepEqual(requestChunks([]), []);
  });
});

describe('RequestFill', () => {
  /** The rule it must keep: measure every message, stop at the first that would pass the limit. */
  function measuredTake(messages: readonly Message[], maxBytes: number): number {
    let bytes = 0;
    for (let i = 0; i < messages.length; i += 1) {
      const size = messageBytes(messages[i]!);
      if (i > 0 && bytes + size > maxBytes) return i;
      bytes += size;
    }
    return messages.length;
  }

  it('takes exactly the messages that measuring each one would, whatever their text', () => {
    let state = 7;
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pieces = ['a', 'é', '€', '😀', '\ud800', 'abcdefgh'];
    const text = () => Array.from({ length: Math.floor(next() * 60) }, () => pieces[Math.floor(next() * pieces.length)]).join('');
    for (let run = 0; run < 300; run += 1) {
      const messages: Message[] = Array.from({ length: 1 + Math.floor(next() * 40) }, () => ({
        key: next() < 0.3 ? null : next() < 0.5 ? Buffer.from(text()) : text(),
        value: text(),
        ...(next() < 0.2 ? { headers: { traceparent: text(), 'model-version': [text(), Buffer.from(text())] } } : {}),
      }));
      const maxBytes = Math.floor(next() * 2000);
      const fill = new RequestFill(maxBytes);
      let taken = 0;
      while (taken < messages.length && fill.add(messages[taken]!)) taken += 1;
      assert.equal(taken, measuredTake(messages, maxBytes), `run ${run}: ${maxBytes} bytes`);
      assert.deepEqual(fill.messages, messages.slice(0, taken));
    }
  });

  it('bounds every message from above without a pass over its text', () => {
    for (const value of ['', 'plain', 'é€', '😀😀', '\udfff']) {
      const message = { key: 'k', value, headers: { h: value } };
      assert.ok(messageBytesAtMost(message) >= messageBytes(message), JSON.stringify(value));
    }
  });

  it('takes a first message over the limit, alone', () => {
    const fill = new RequestFill(10);
    assert.equal(fill.add({ key: null, value: 'x'.repeat(100) }), true);
    assert.equal(fill.add({ key: null, value: 'y' }), false);
    assert.equal(fill.messages.length, 1);
  });
});
