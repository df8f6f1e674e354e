import type { Message, TopicMessages } from 'kafkajs';

/**
 * Most bytes per produce request: the broker refuses a partition's batch over its
 * `message.max.bytes` (1 MiB by default), and kafkajs puts all of a send's messages for a
 * partition into one batch. The same bound as kafkaSink's `maxRequestBytes` default.
 */
export const MAX_REQUEST_BYTES = 1_000_000;

/**
 * The most Kafka's record format (v2) adds to one record besides its key, value and headers: its
 * length (varint, ≤ 5), attributes (1), timestamp delta (varlong, ≤ 10), offset delta, key and
 * value lengths and header count (varints, ≤ 5 each).
 */
const RECORD_FRAMING_BYTES = 36;
/** Bytes one header's framing may add (two varint lengths). */
const HEADER_FRAMING_BYTES = 10;
/** The most UTF-8 bytes one UTF-16 unit of a JavaScript string takes (a surrogate pair: 4 for 2). */
const UTF8_BYTES_PER_UNIT = 3;

/**
 * An upper bound of the bytes a message takes in a produce request: its key, value and header
 * names and values as UTF-8, plus the most the record framing adds. Sends are cut by it so one
 * never exceeds the broker's `message.max.bytes` however its messages fall on partitions.
 *
 * @example
 * messageBytes({ key: 'u1', value: '{"score":0.1}' }) // 2 + 13 + 36 = 51
 */
export function messageBytes(message: Message): number {
  return sizeOf(message, utf8Length);
}

/**
 * A bound of {@link messageBytes} that needs no pass over the text: 3 bytes per UTF-16 unit.
 *
 * @example
 * messageBytesAtMost({ key: 'u1', value: '{"score":0.1}' }) // 6 + 39 + 36 = 81
 */
export function messageBytesAtMost(message: Message): number {
  return sizeOf(message, utf8LengthAtMost);
}

/**
 * The messages of one produce request, taken in order while they fit in `maxBytes` (counted
 * with {@link messageBytes}; a first message always fits, however large, and goes alone for the
 * broker to judge). Each message is first counted by {@link messageBytesAtMost}, and measured
 * only once those bounds add up past the limit: most requests are far below it, and measuring
 * every message's UTF-8 length was 1.4 % of a Kafka job's thread (2 December). The messages it
 * takes are exactly those the measured count alone would take.
 *
 * @example
 * const fill = new RequestFill(1_000_000);
 * for (const message of queued) if (!fill.add(message)) break;
 * await producer.send({ topic, messages: fill.messages });
 */
export class RequestFill {
  /** The messages taken, in order. */
  readonly messages: Message[] = [];
  readonly #maxBytes: number;
  /** The taken messages' size: their bounds until #measured, then their measured bytes. */
  #bytes = 0;
  #measured = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Takes `message` if the request has room for it; false (and not taken) when it is full. */
  add(message: Message): boolean {
    const taken = this.messages;
    let size = this.#measured ? messageBytes(message) : messageBytesAtMost(message);
    if (taken.length > 0 && this.#bytes + size > this.#maxBytes && !this.#measured) {
      // The bounds say full: measure what is taken and this message, and go on measuring.
      this.#measured = true;
      this.#bytes = 0;
      for (const one of taken) this.#bytes += messageBytes(one);
      size = messageBytes(message);
    }
    if (taken.length > 0 && this.#bytes + size > this.#maxBytes) return false;
    this.#bytes += size;
    taken.push(message);
    return true;
  }
}

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
  let fill = new RequestFill(maxBytes);
  for (const { topic, messages } of topicMessages) {
    let current: TopicMessages | undefined;
    for (const message of messages) {
      if (!fill.add(message)) {
        chunks.push(chunk);
        chunk = [];
        current = undefined;
        fill = new RequestFill(maxBytes);
        fill.add(message);
      }
      if (current === undefined) chunk.push((current = { topic, messages: [] }));
      current.messages.push(message);
    }
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

type Data = string | Buffer | null | undefined;

function sizeOf(message: Message, length: (data: Data) => number): number {
  let bytes = RECORD_FRAMING_BYTES + length(message.key) + length(message.value);
  const headers = message.headers;
  if (headers !== undefined) {
    for (const name in headers) {
      const value = headers[name];
      bytes += HEADER_FRAMING_BYTES + length(name);
      if (Array.isArray(value)) for (const item of value) bytes += HEADER_FRAMING_BYTES + length(item);
      else bytes += length(value);
    }
  }
  return bytes;
}

function utf8Length(data: Data): number {
  if (data === null || data === undefined) return 0;
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
}

function utf8LengthAtMost(data: Data): number {
  if (data === null || data === undefined) return 0;
  return typeof data === 'string' ? data.length * UTF8_BYTES_PER_UNIT : data.length;
}
