/**
 * kafkajs helpers for integration tests against the real Kafka broker of kafkaBroker.ts:
 * topics, producing, reading a topic back, and consumer settings that suit a test broker.
 *
 * @example
 * ```ts
 * const { brokers } = await sharedKafka();
 * const topic = await createTestTopic(brokers, 'in', 2);
 * await produceMessages(brokers, topic, [{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
 * const msgs = await consumeAll(brokers, topic, { expected: 2, timeoutMs: 10_000 });
 * assert.deepEqual(msgs.map((m) => m.value?.toString()).sort(), ['1', '2']);
 * ```
 */
import { randomUUID } from 'node:crypto';
import {
  Kafka,
  Partitioners,
  logLevel,
  type CompressionTypes,
  type ConsumerConfig,
  type IHeaders,
  type ITopicConfig,
  type RecordMetadata,
} from 'kafkajs';

import type { KafkaClientSecurity } from './kafkaSecurity.ts';

export type { KafkaCluster, StartKafkaOptions } from './kafkaBroker.ts';
export { sharedKafka, startKafka } from './kafkaBroker.ts';

/**
 * Consumer timings for tests; spread them into any kafkajs consumer config:
 * `kafka.consumer({ groupId, ...TEST_CONSUMER_TIMINGS })`.
 *
 * A member that dies (kill -9) is noticed after `sessionTimeout` (6 s; the kit's broker allows
 * down to 0.5 s, but a busy two-core machine can stall a heartbeat for a second or more), and
 * members rejoin a rebalance within one `heartbeatInterval`. `maxWaitTimeInMs` bounds how long an
 * empty fetch waits, which is how quickly a consumer sees a new message on an idle topic.
 */
export const TEST_CONSUMER_TIMINGS: Required<
  Pick<ConsumerConfig, 'sessionTimeout' | 'heartbeatInterval' | 'rebalanceTimeout' | 'maxWaitTimeInMs'>
> = {
  sessionTimeout: 6000,
  heartbeatInterval: 500,
  rebalanceTimeout: 10_000,
  maxWaitTimeInMs: 100,
};

/**
 * A consumer config for tests: test timings, no topic auto-creation.
 *
 * @example
 * ```ts
 * const consumer = createTestKafka(brokers).consumer(testConsumerConfig('my-group'));
 * ```
 */
export function testConsumerConfig(groupId: string, overrides: Partial<ConsumerConfig> = {}): ConsumerConfig {
  return {
    groupId,
    allowAutoTopicCreation: false,
    ...TEST_CONSUMER_TIMINGS,
    ...overrides,
  };
}

/**
 * A topic name no other test uses: `prefix` plus a random suffix.
 *
 * @example
 * ```ts
 * uniqueTopic('fraud-in') // 'fraud-in-3f2a9c1b'
 * ```
 */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A topic for {@link createTopics}. */
export interface TestTopic {
  name: string;
  partitions: number;
  /** Default: the broker's (1 on one node, 3 on three). */
  replicationFactor?: number;
  /** Topic settings, e.g. `{ 'cleanup.policy': 'compact' }`. */
  config?: Readonly<Record<string, string>>;
}

/**
 * Creates topics and waits until each partition has a leader that answers.
 *
 * @example
 * ```ts
 * await createTopics(brokers, [{ name: 'in', partitions: 4 }, { name: 'out', partitions: 4 }]);
 * ```
 */
export async function createTopics(brokers: string[], topics: readonly TestTopic[], security: KafkaClientSecurity = {}): Promise<void> {
  const admin = createTestKafka(brokers, { clientId: 'sluice-test-admin', security }).admin();
  await admin.connect();
  try {
    const specs: ITopicConfig[] = topics.map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      ...(t.replicationFactor !== undefined ? { replicationFactor: t.replicationFactor } : {}),
      ...(t.config !== undefined ? { configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })) } : {}),
    }));
    await admin.createTopics({ topics: specs, waitForLeaders: true });
    // KRaft brokers learn of a new topic a moment after CreateTopics returns; until then a
    // ListOffsets or Fetch can be told NOT_LEADER. Wait until each topic's offsets answer, so a
    // test starts on topics that are really there.
    const deadline = Date.now() + 15_000;
    for (const t of topics) {
      for (;;) {
        try {
          await admin.fetchTopicOffsets(t.name);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Creates one topic named {@link uniqueTopic}(prefix) and resolves with its name.
 *
 * @example
 * ```ts
 * const input = await createTestTopic(brokers, 'in', 4);
 * ```
 */
export async function createTestTopic(brokers: string[], prefix: string, partitions: number): Promise<string> {
  const name = uniqueTopic(prefix);
  await createTopics(brokers, [{ name, partitions }]);
  return name;
}

/** Options for {@link createTestKafka}. */
export interface TestKafkaOptions {
  clientId?: string;
  /** kafkajs log level; default NOTHING. */
  logLevel?: logLevel;
  /** Retries per request before kafkajs gives up; default 5 (~ a few seconds). */
  retries?: number;
  /** SASL or TLS options of a secured cluster (its `client` field). */
  security?: KafkaClientSecurity;
}

/**
 * A kafkajs client for tests: quiet, short timeouts, short retries.
 *
 * @example
 * ```ts
 * const admin = createTestKafka(cluster.brokers, { security: cluster.client }).admin();
 * ```
 */
export function createTestKafka(brokers: string[], options: TestKafkaOptions = {}): Kafka {
  return new Kafka({
    clientId: options.clientId ?? 'sluice-test',
    brokers,
    ...options.security,
    logLevel: options.logLevel ?? logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: options.retries ?? 5, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** A message to produce. */
export interface TestMessage {
  key?: string | Buffer | null;
  value: string | Buffer;
  headers?: IHeaders;
  /** Explicit partition; otherwise kafkajs' default (murmur2 on key) partitioner. */
  partition?: number;
  /** Milliseconds since epoch, as a string (kafkajs convention). */
  timestamp?: string;
}

/** Options for {@link produceMessages}. */
export interface ProduceOptions {
  /**
   * Messages per `send()`. Each send becomes one record batch per partition, which the broker
   * refuses above 1 MiB (`message.max.bytes`). Default 1000.
   */
  batchSize?: number;
  /** An idempotent producer (exactly one copy per message even when a send is retried). Default false. */
  idempotent?: boolean;
  /** Default -1 (all in-sync replicas). */
  acks?: -1 | 0 | 1;
  compression?: CompressionTypes;
  /** kafkajs retries per send; default 5. */
  retries?: number;
  clientId?: string;
  /** SASL or TLS options of a secured cluster. */
  security?: KafkaClientSecurity;
}

/**
 * Produces `messages` to `topic` in batches and resolves once all are acknowledged. Uses a
 * fresh producer that is disconnected afterwards.
 *
 * @returns the per-partition metadata of every send, in order.
 * @example
 * ```ts
 * await produceMessages(brokers, 'in', Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
 * ```
 */
export async function produceMessages(
  brokers: string[],
  topic: string,
  messages: readonly TestMessage[],
  opts: ProduceOptions = {},
): Promise<RecordMetadata[]> {
  const batchSize = opts.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be >= 1, got ${batchSize}`);
  const kafka = createTestKafka(brokers, {
    clientId: opts.clientId ?? 'sluice-test-producer',
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    ...(opts.security !== undefined ? { security: opts.security } : {}),
  });
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: opts.idempotent ?? false,
    ...(opts.idempotent === true ? { maxInFlightRequests: 1 } : {}),
  });
  await producer.connect();
  try {
    const results: RecordMetadata[] = [];
    for (let i = 0; i < messages.length; i += batchSize) {
      const chunk = messages.slice(i, i + batchSize);
      const meta = await producer.send({
        topic,
        acks: opts.acks ?? -1,
        ...(opts.compression !== undefined ? { compression: opts.compression } : {}),
        messages: chunk.map((m) => ({
          key: m.key ?? null,
          value: m.value,
          ...(m.headers !== undefined ? { headers: m.headers } : {}),
          ...(m.partition !== undefined ? { partition: m.partition } : {}),
          ...(m.timestamp !== undefined ? { timestamp: m.timestamp } : {}),
        })),
      });
      results.push(...meta);
    }
    return results;
  } finally {
    await producer.disconnect();
  }
}

/** A consumed message, flattened (kafkajs' KafkaMessage plus topic/partition). */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  timestamp: string;
}

/** Options for {@link consumeAll}. */
export interface ConsumeAllOptions {
  /** Resolve once this many messages have arrived. */
  expected: number;
  /** Give up after this long. */
  timeoutMs: number;
  /** Consumer group; default a fresh random one, so reading starts at the beginning. */
  groupId?: string;
  /** Default true. Only matters for a group without committed offsets. */
  fromBeginning?: boolean;
  clientId?: string;
  /** SASL or TLS options of a secured cluster. */
  security?: KafkaClientSecurity;
}

/** Thrown by {@link consumeAll} on timeout; carries what did arrive. */
export class ConsumeTimeoutError extends Error {
  constructor(
    readonly expected: number,
    readonly received: ConsumedMessage[],
    timeoutMs: number,
  ) {
    super(`consumeAll: got ${received.length} of ${expected} messages within ${timeoutMs} ms`);
    this.name = 'ConsumeTimeoutError';
  }
}

/**
 * Reads `topic` from the beginning with a fresh consumer group until
 * `expected` messages have arrived, then disconnects. Per partition, messages
 * are in offset order; across partitions, in arrival order. Rejects with
 * {@link ConsumeTimeoutError} if fewer arrive within `timeoutMs`. Extra
 * messages in the same fetch are included, so the result can exceed
 * `expected`.
 *
 * @example
 * ```ts
 * const msgs = await consumeAll(brokers, 'out', { expected: 100, timeoutMs: 15_000 });
 * ```
 */
export async function consumeAll(brokers: string[], topic: string, opts: ConsumeAllOptions): Promise<ConsumedMessage[]> {
  const kafka = createTestKafka(brokers, {
    clientId: opts.clientId ?? 'sluice-test-consumer',
    ...(opts.security !== undefined ? { security: opts.security } : {}),
  });
  const consumer = kafka.consumer(testConsumerConfig(opts.groupId ?? `sluice-test-${randomUUID()}`));
  const received: ConsumedMessage[] = [];
  let done: () => void = () => {};
  const enough = new Promise<void>((resolve) => {
    done = resolve;
  });
  if (opts.expected <= 0) done();

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), opts.timeoutMs);
  });

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: opts.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          received.push({
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key,
            value: m.value,
            headers: m.headers ?? {},
            timestamp: m.timestamp,
          });
        }
        if (received.length >= opts.expected) done();
      },
    });
    const outcome = await Promise.race([enough.then(() => 'ok' as const), timedOut]);
    if (outcome === 'timeout') throw new ConsumeTimeoutError(opts.expected, received.slice(), opts.timeoutMs);
    return received.slice();
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}
