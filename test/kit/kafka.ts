/**
 * kafkajs helpers for integration tests against the mock cluster started by
 * {@link startMockKafka} (see the notes at the top of kafkaMock.ts for why
 * batches are large and max-waits are short).
 *
 * @example
 * ```ts
 * const mock = await startMockKafka({ topics: [{ name: 'in', partitions: 2 }] });
 * await produceMessages(mock.brokers, 'in', [{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
 * const msgs = await consumeAll(mock.brokers, 'in', { expected: 2, timeoutMs: 10_000 });
 * assert.deepEqual(msgs.map((m) => m.value?.toString()).sort(), ['1', '2']);
 * await mock.stop();
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
  type PartitionAssigner,
  type RecordMetadata,
} from 'kafkajs';

import { mockSafeAssigner as mockSafeAssignerImpl } from './mockSafeKafka.mjs';

export type { MockKafka, MockKafkaOptions } from './kafkaMock.ts';
export { startMockKafka } from './kafkaMock.ts';

/**
 * kafkajs' round-robin assigner, except that the group leader waits before assigning. Works
 * around a race in the mock (librdkafka 2.0.2): it completes a rebalance as soon as the LEADER's
 * SyncGroup (carrying every assignment) arrives, and answers a follower's SyncGroup that comes
 * after that with INVALID_REQUEST, which kafkajs treats as fatal: the follower crashes for good
 * (CRASH event with restart=false). Without this, about 1 in 8 two-member rebalances lost a
 * consumer; with it, none in 45. Same protocol name as the stock assigner, so groups can mix.
 * Use it for any test with more than one consumer in a group (it is in TEST_CONSUMER_TIMINGS and
 * testConsumerConfig; `sluice` child processes get it through the mockSafeKafka.mjs preload).
 */
export const mockSafeAssigner: PartitionAssigner = mockSafeAssignerImpl;

/**
 * Consumer settings for the mock; spread them into any kafkajs consumer config
 * in tests: `kafka.consumer({ groupId, ...TEST_CONSUMER_TIMINGS })`.
 *
 * Its first join of an empty group waits a fixed ~3 s with no heartbeats, so
 * `sessionTimeout` must exceed 3000 ms or the mock expires the member and
 * never answers JoinGroup. Later rebalances wait `sessionTimeout - 1000` ms,
 * so 3500 gives ~2.5 s rebalances. `rebalanceTimeout` is not used by the mock
 * for waiting; kafkajs uses it (+5 s) as the JoinGroup request timeout, so it
 * must also exceed ~3 s. `partitionAssigners` is {@link mockSafeAssigner}.
 */
export const TEST_CONSUMER_TIMINGS: Required<
  Pick<ConsumerConfig, 'sessionTimeout' | 'heartbeatInterval' | 'rebalanceTimeout' | 'maxWaitTimeInMs' | 'partitionAssigners'>
> = {
  sessionTimeout: 3500,
  heartbeatInterval: 500,
  rebalanceTimeout: 3500,
  /** The mock answers an empty fetch only after the full max-wait. */
  maxWaitTimeInMs: 50,
  partitionAssigners: [mockSafeAssigner],
};

/**
 * A consumer config for tests against the mock: fast group timings, short
 * max-wait, the mock-safe assigner, no topic auto-creation.
 *
 * @example
 * ```ts
 * const consumer = createTestKafka(mock.brokers).consumer(testConsumerConfig('my-group'));
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

/** Options for {@link createTestKafka}. */
export interface TestKafkaOptions {
  clientId?: string;
  /** kafkajs log level; default NOTHING. */
  logLevel?: logLevel;
  /** Retries per request before kafkajs gives up; default 5 (~ a few seconds). */
  retries?: number;
}

/** A kafkajs client for tests: quiet, short timeouts, short retries. */
export function createTestKafka(brokers: string[], options: TestKafkaOptions = {}): Kafka {
  return new Kafka({
    clientId: options.clientId ?? 'sluice-test',
    brokers,
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
   * Messages per `send()`. Each send becomes one record batch per partition,
   * and the mock returns one batch per partition per fetch, so bigger is
   * faster to consume. Default 10 000.
   */
  batchSize?: number;
  /** Default -1 (all in-sync replicas). */
  acks?: -1 | 0 | 1;
  compression?: CompressionTypes;
  /** kafkajs retries per send; default 5. */
  retries?: number;
  clientId?: string;
}

/**
 * Produces `messages` to `topic` in large batches and resolves once all are
 * acknowledged. Uses a fresh, non-idempotent producer (the mock does not
 * serve idempotence) that is disconnected afterwards.
 *
 * @returns the per-partition metadata of every send, in order.
 * @example
 * ```ts
 * await produceMessages(mock.brokers, 'in', Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
 * ```
 */
export async function produceMessages(
  brokers: string[],
  topic: string,
  messages: readonly TestMessage[],
  opts: ProduceOptions = {},
): Promise<RecordMetadata[]> {
  const batchSize = opts.batchSize ?? 10_000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be >= 1, got ${batchSize}`);
  const kafka = createTestKafka(brokers, {
    clientId: opts.clientId ?? 'sluice-test-producer',
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
  });
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: false,
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
  /** Give up after this long (includes the mock's ~3 s first group join). */
  timeoutMs: number;
  /** Consumer group; default a fresh random one, so reading starts at the beginning. */
  groupId?: string;
  /** Default true. Only matters for a group without committed offsets. */
  fromBeginning?: boolean;
  clientId?: string;
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
 * const msgs = await consumeAll(mock.brokers, 'out', { expected: 100, timeoutMs: 15_000 });
 * ```
 */
export async function consumeAll(brokers: string[], topic: string, opts: ConsumeAllOptions): Promise<ConsumedMessage[]> {
  const kafka = createTestKafka(brokers, { clientId: opts.clientId ?? 'sluice-test-consumer' });
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
