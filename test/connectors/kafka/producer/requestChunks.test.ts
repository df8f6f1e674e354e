import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageBytes } from '../../../../connectors/kafka/producer/producerQueue.ts';
import { requestChunks } from '../../../../connectors/kafka/producer/requestChunks.ts';

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
