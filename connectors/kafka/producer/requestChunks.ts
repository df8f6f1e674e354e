import type { TopicMessages } from 'kafkajs';
import { messageBytes } from './producerQueue.ts';

/**
 * Most bytes per produce request: the broker refuses a partition's batch over its
 * `message.max.bytes` (1 MiB by default), and kafkajs puts all of a send's messages for a
 * partition into one batch. The same bound as kafkaSink's `maxRequestBytes` default.
 */
export const MAX_REQUEST_BYTES = 1_000_000;

/**
 * `topicMessages` cut, in order, into sends of at most `maxBytes` each (counted with
 * {@link messageBytes}; a single larger message goes alone, for the broker to judge). Sent one
 * after the other, they keep every partition's order.
 *
 * @example
 * for (const chunk of requestChunks([{ topic: 'decisions', messages }])) await transaction.sendBatch({ topicMessages: chunk, acks: -1 });
 */
export function requestChunks(topicMessages: readonly TopicMessages[], maxBytes = MAX_REQUEST_BYTES): TopicMessages[][] {
  const chunks: TopicMessages[][] = [];
  let chunk: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    let current: TopicMessages | undefined;
    for (const message of messages) {
      const size = messageBytes(message);
      if (bytes > 0 && bytes + size > maxBytes) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
        current = undefined;
      }
      if (current === undefined) chunk.push((current = { topic, messages: [] }));
      current.messages.push(message);
      bytes += size;
    }
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
