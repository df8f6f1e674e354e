import { Partitioners, type CompressionTypes, type ICustomPartitioner, type Message, type Producer } from 'kafkajs';
import { ConnectorError } from '../../../core/errors.ts';
import type { KafkaSettings } from '../../../core/job.ts';
import { createKafka, type KafkaTuning } from '../config.ts';
import { describeKafkaError, isTransientKafkaError } from '../errors.ts';
import { RequestFill } from './requestChunks.ts';

export interface ProducerQueueOptions {
  settings: KafkaSettings;
  tuning: KafkaTuning;
  topic: string;
  /** Most messages per send. */
  batchSize: number;
  /** Most bytes per send, by `messageBytes` (requestChunks.ts): a send is one produce request. */
  maxRequestBytes: number;
  /** How long a send waits for more messages when it holds fewer than `batchSize`. */
  lingerMs: number;
  acks: -1 | 1;
  compression: CompressionTypes | undefined;
  log: (line: string) => void;
}

interface Pending {
  readonly messages: Message[];
  /** How many of `messages` have been taken into a send. */
  taken: number;
  /** How many of `messages` the broker acknowledged. */
  acked: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One topic's producer: gathers messages into sends of up to `batchSize` messages and
 * `maxRequestBytes` bytes (waiting up to `lingerMs` for a fuller one), sends them one at a time
 * so a key's records keep their order (one send in flight: its rate is what one request carries
 * per round trip, which is why the limit is in bytes rather than a small message count),
 * and resolves each caller once the broker acknowledged all of its messages. While the brokers
 * cannot be reached it retries with backoff for up to the delivery timeout; callers simply wait,
 * which is what holds the job's source back (the in-flight budget stays full).
 */
export class ProducerQueue {
  readonly #options: ProducerQueueOptions;
  readonly #producer: Producer;
  #connected: Promise<void> | undefined;
  #queue: Pending[] = [];
  #queued = 0;
  #pumping: Promise<void> | undefined;
  #lingerWake: (() => void) | undefined;
  #failure: unknown;

  constructor(options: ProducerQueueOptions) {
    this.#options = options;
    this.#producer = createKafka(options.settings, options.tuning, 'producer').producer({
      createPartitioner: cachedKeyPartitioner,
      allowAutoTopicCreation: false,
      idempotent: false,
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
    });
  }

  /** Queues messages; resolves once every one of them was acknowledged. */
  send(messages: Message[]): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ messages, taken: 0, acked: 0, resolve, reject });
      this.#queued += messages.length;
      if (this.#queued >= this.#options.batchSize) this.#lingerWake?.();
      // The pump clears #pumping itself, synchronously, the moment it finds the queue empty.
      this.#pumping ??= this.#pump();
    });
  }

  /** Resolves when everything queued so far has been sent (or has failed). */
  async flush(): Promise<void> {
    this.#lingerWake?.();
    while (this.#pumping !== undefined) await this.#pumping.catch(() => {});
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.#connected !== undefined) await this.#producer.disconnect().catch(() => {});
  }

  async #pump(): Promise<void> {
    // Let `this.#pumping = this.#pump()` happen before anything can clear it.
    await Promise.resolve();
    const { batchSize, maxRequestBytes, lingerMs } = this.#options;
    try {
      // The loop test and the `finally` run in one go, so a message queued meanwhile is never
      // left without a pump.
      while (this.#queued > 0) {
        if (this.#queued < batchSize && lingerMs > 0) await this.#linger(lingerMs);
        const fill = new RequestFill(maxRequestBytes);
        const chunk = fill.messages;
        const parts: { entry: Pending; count: number }[] = [];
        for (const entry of this.#queue) {
          let count = 0;
          for (let i = entry.taken; i < entry.messages.length; i += 1) {
            if (chunk.length >= batchSize || !fill.add(entry.messages[i]!)) break;
            count += 1;
          }
          if (count > 0) {
            entry.taken += count;
            parts.push({ entry, count });
          }
          if (entry.taken < entry.messages.length) break;
        }
        this.#queued -= chunk.length;
        try {
          await this.#sendWithRetry(chunk);
        } catch (error) {
          this.#fail(error);
          return;
        }
        for (const { entry, count } of parts) entry.acked += count;
        while (this.#queue.length > 0 && this.#queue[0]!.acked === this.#queue[0]!.messages.length) this.#queue.shift()!.resolve();
      }
    } finally {
      this.#pumping = undefined;
    }
  }

  #linger(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(wake, ms);
      const self = this;
      function wake() {
        clearTimeout(timer);
        self.#lingerWake = undefined;
        resolve();
      }
      this.#lingerWake = wake;
    });
  }

  #fail(error: unknown): void {
    this.#failure = error;
    const queue = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    for (const entry of queue) entry.reject(error);
  }

  async #sendWithRetry(messages: Message[]): Promise<void> {
    const { topic, acks, compression, tuning, settings, log } = this.#options;
    const deadline = performance.now() + tuning.deliveryTimeoutMs;
    let failingSince: number | undefined;
    for (let attempt = 0; ; attempt += 1) {
      try {
        this.#connected ??= this.#producer.connect().catch((error: unknown) => {
          this.#connected = undefined;
          throw error;
        });
        await this.#connected;
        await this.#producer.send({ topic, acks, ...(compression === undefined ? {} : { compression }), messages });
        if (failingSince !== undefined) log(`writing to ${topic} again after ${((performance.now() - failingSince) / 1000).toFixed(1)} s`);
        return;
      } catch (error) {
        const reason = describeKafkaError(error);
        if (!isTransientKafkaError(error)) throw new ConnectorError(`Kafka producer could not write to topic ${topic}: ${reason}`, { cause: error });
        if (performance.now() >= deadline) {
          throw new ConnectorError(
            `Kafka producer could not write to topic ${topic} for ${Math.round(tuning.deliveryTimeoutMs / 1000)} s (${reason}) — check that ${settings.brokers.join(',')} are up and the topic exists`,
            { cause: error, retriable: true },
          );
        }
        if (failingSince === undefined) {
          failingSince = performance.now();
          log(`cannot write to ${topic} (${reason}); retrying until the brokers answer (up to ${Math.round(tuning.deliveryTimeoutMs / 1000)} s)`);
        }
        const backoff = Math.min(200 * 2 ** attempt, 5000) * (0.8 + 0.4 * Math.random());
        await new Promise((resolve) => setTimeout(resolve, Math.min(backoff, Math.max(0, deadline - performance.now()))));
      }
    }
  }
}

/** Distinct keys whose partition is remembered; past it the cache starts over. */
const PARTITION_CACHE_LIMIT = 100_000;

/**
 * kafkajs' DefaultPartitioner (murmur2 of the key, as the Java client), remembering each string
 * key's partition for the topic's current partition count. The partition of a key depends on
 * nothing else, so the result is the default partitioner's; per message the default one hashes
 * a fresh Buffer of the key and filters the partition list, which costs more than the lookup.
 * Messages without a key, with a Buffer key or with an explicit partition go to it unchanged.
 */
export const cachedKeyPartitioner: ICustomPartitioner = () => {
  const partitioner = Partitioners.DefaultPartitioner();
  const byTopic = new Map<string, { partitions: number; byKey: Map<string, number> }>();
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    const key = message.key;
    if (typeof key !== 'string' || (message.partition !== undefined && message.partition !== null)) return partitioner(args);
    let cache = byTopic.get(topic);
    if (cache === undefined || cache.partitions !== partitionMetadata.length) {
      cache = { partitions: partitionMetadata.length, byKey: new Map() };
      byTopic.set(topic, cache);
    }
    let partition = cache.byKey.get(key);
    if (partition === undefined) {
      partition = partitioner(args);
      if (cache.byKey.size >= PARTITION_CACHE_LIMIT) cache.byKey.clear();
      cache.byKey.set(key, partition);
    }
    return partition;
  };
};
