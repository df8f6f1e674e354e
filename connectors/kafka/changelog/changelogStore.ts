import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import type { PartitionCheckpoint, PartitionCheckpointStore, RestoredPartition } from '../../../core/checkpoint/partitionStore.ts';
import { finishedWithin } from '../../../core/deadline.ts';
import { ConnectorError } from '../../../core/errors.ts';
import type { KafkaSettings } from '../../../core/job.ts';
import { createKafka, kafkaTuning, type KafkaTuning } from '../config.ts';
import { describeKafkaError, isTransientKafkaError } from '../errors.ts';
import { changelogMessages, PartitionReplay, SEPARATOR } from './changelogFormat.ts';
import { requestChunks } from '../producer/requestChunks.ts';

export interface KafkaChangelogOptions {
  settings: KafkaSettings;
  /** The changelog topic; it needs at least as many partitions as the input topic. */
  topic: string;
  tuning?: Partial<KafkaTuning>;
  /** Longest a restore may take before the assignment fails. Default 60 s. */
  restoreTimeoutMs?: number;
}

/**
 * Per-partition checkpoints in a Kafka changelog topic, the way Kafka Streams keeps its state
 * stores: partition p of the changelog holds the state of input partition p, as one record per
 * changed key (a null value deletes it; a compacted topic keeps the newest per key), one record
 * per operator snapshot, and a commit marker with the offset the changes reflect. Whoever owns
 * partition p next reads the changelog partition up to its end and applies what lies before the
 * last marker; anything after it (a checkpoint cut short by a crash) is ignored.
 *
 * Create the topic with `cleanup.policy=compact` and the input topic's partition count.
 *
 * @example
 * checkpoints: { store: kafkaChangelogStore({ settings: env.kafka, topic: 'fraud-detection-changelog' }), intervalMs: 5000 }
 */
export function kafkaChangelogStore(options: KafkaChangelogOptions): PartitionCheckpointStore {
  return new KafkaChangelogStore(options);
}

/** Record keys: `<source topic>\0<kind>[\0...]` with kinds r(eset), s(tate), o(perator), c(ommit). */

class KafkaChangelogStore implements PartitionCheckpointStore {
  readonly #options: KafkaChangelogOptions;
  readonly #tuning: KafkaTuning;
  #producer: Promise<Producer> | undefined;
  #topicReady: Promise<void> | undefined;

  constructor(options: KafkaChangelogOptions) {
    this.#options = options;
    this.#tuning = kafkaTuning(process.env, options.tuning);
  }

  async save(partitions: readonly PartitionCheckpoint[]): Promise<void> {
    if (partitions.length === 0) return;
    await this.#ensureTopic(partitions);
    const producer = await this.#connectedProducer();
    const topicMessages = partitions.map((checkpoint) => ({ topic: this.#options.topic, messages: changelogMessages(checkpoint) }));
    try {
      // A checkpoint after an assignment writes every key of its partitions: cut it by bytes.
      for (const chunk of requestChunks(topicMessages)) await producer.sendBatch({ topicMessages: chunk, acks: -1 });
    } catch (error) {
      throw new ConnectorError(`could not write the changelog ${this.#options.topic}: ${describeKafkaError(error)}`, { cause: error, retriable: true });
    }
  }

  async load(wanted: ReadonlyArray<{ topic: string; partition: number }>): Promise<RestoredPartition[]> {
    if (wanted.length === 0) return [];
    await this.#ensureTopic(wanted);
    const kafka = createKafka(this.#options.settings, this.#tuning, 'changelog-restore');
    const admin = kafka.admin();
    await admin.connect();
    let ends: Map<number, number>;
    try {
      // A topic created a moment ago may not be known to every broker yet (KRaft metadata
      // propagates): that answer is retriable, and is retried.
      const offsets = await untilTopicAnswers(() => admin.fetchTopicOffsets(this.#options.topic));
      ends = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } finally {
      await admin.disconnect();
    }
    const replays = new Map<number, Map<string, PartitionReplay>>();
    for (const { topic, partition } of wanted) {
      if ((ends.get(partition) ?? 0) === 0) continue;
      let byTopic = replays.get(partition);
      if (byTopic === undefined) replays.set(partition, (byTopic = new Map()));
      byTopic.set(topic, new PartitionReplay(topic, partition));
    }
    if (replays.size > 0) await this.#replay(kafka, replays, ends);
    const restored: RestoredPartition[] = [];
    for (const byTopic of replays.values()) for (const replay of byTopic.values()) {
      const result = replay.result();
      if (result !== undefined) restored.push(result);
    }
    return restored;
  }

  async close(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    if (producer !== undefined) await (await producer).disconnect();
  }

  /** Reads the changelog partitions from the beginning to the ends measured before. */
  async #replay(kafka: ReturnType<typeof createKafka>, replays: Map<number, Map<string, PartitionReplay>>, ends: Map<number, number>): Promise<void> {
    // A group of its own with nothing committed: the consumer reads every partition from the start.
    const consumer = kafka.consumer({
      groupId: `${this.#options.settings.groupId}-restore-${randomUUID()}`,
      sessionTimeout: this.#tuning.sessionTimeoutMs,
      heartbeatInterval: this.#tuning.heartbeatIntervalMs,
      rebalanceTimeout: this.#tuning.rebalanceTimeoutMs,
      maxWaitTimeInMs: this.#tuning.maxWaitMs,
    });
    const remaining = new Set(replays.keys());
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: this.#options.topic, fromBeginning: true });
      // The end is reached by offset, control records included: the last record before a
      // read_committed end is often a transaction marker, which eachBatch never sees (kafkajs
      // reports it only in its batch events).
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const end = ends.get(payload.partition);
        if (end === undefined || !remaining.has(payload.partition) || Number(payload.lastOffset) < end - 1) return;
        remaining.delete(payload.partition);
        if (remaining.size === 0) finished();
      });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const byTopic = replays.get(batch.partition);
          if (byTopic === undefined || !remaining.has(batch.partition)) return;
          const end = ends.get(batch.partition)!;
          for (const message of batch.messages) {
            if (Number(message.offset) >= end) break;
            const key = message.key?.toString('utf8') ?? '';
            const split = key.indexOf(SEPARATOR);
            const kindAndRest = key.slice(split + 1);
            // Which transactional write committed a checkpoint: read off its commit record only.
            const batch = kindAndRest.charAt(0) === 'c' && 'batchContext' in message ? message.batchContext : undefined;
            const written = batch?.inTransaction === true ? { producerEpoch: batch.producerEpoch, timestamp: Number(message.timestamp) } : undefined;
            byTopic.get(key.slice(0, split))?.apply(kindAndRest, message.value, written);
          }
        },
      });
      const timeoutMs = this.#options.restoreTimeoutMs ?? 60_000;
      if (!(await finishedWithin(done, timeoutMs))) {
        throw new ConnectorError(`restoring state from the changelog ${this.#options.topic} took over ${timeoutMs} ms (partitions ${[...remaining].join(', ')} unread)`, { retriable: true });
      }
    } finally {
      await consumer.disconnect().catch(() => {});
    }
  }

  /**
   * Creates the changelog on first use when it is missing (as Kafka Streams creates its internal
   * topics): compacted, with the source topics' partition count. Fails with what to do when it
   * exists with too few partitions or cannot be created.
   */
  #ensureTopic(partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<void> {
    this.#topicReady ??= (async () => {
      const topic = this.#options.topic;
      const admin = createKafka(this.#options.settings, this.#tuning, 'changelog-admin').admin();
      await admin.connect();
      try {
        const sourceTopics = [...new Set(partitions.map((p) => p.topic))];
        const source = await admin.fetchTopicMetadata({ topics: sourceTopics });
        const needed = Math.max(...source.topics.map((t) => t.partitions.length));
        const existing = (await admin.listTopics()).includes(topic);
        if (!existing) {
          try {
            await admin.createTopics({ topics: [{ topic, numPartitions: needed, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
            await untilTopicAnswers(() => admin.fetchTopicOffsets(topic));
            return;
          } catch {
            // Some clusters (and librdkafka's mock) refuse CreateTopics but create a topic on first
            // use; the metadata request below does that, and the partition check still applies.
          }
        }
        const have = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length ?? 0;
        if (have < needed) {
          throw new ConnectorError(`the changelog topic ${topic} has ${have} partitions but ${sourceTopics.join(', ')} has ${needed}: recreate it with ${needed} partitions (cleanup.policy=compact)`);
        }
      } catch (error) {
        if (error instanceof ConnectorError) throw error;
        throw new ConnectorError(`could not find or create the changelog topic ${topic} (${describeKafkaError(error)}): create it with the input topic's partition count and cleanup.policy=compact, or pass --changelog-topic`, { cause: error });
      } finally {
        await admin.disconnect().catch(() => {});
      }
    })();
    this.#topicReady.catch(() => (this.#topicReady = undefined));
    return this.#topicReady;
  }

  #connectedProducer(): Promise<Producer> {
    this.#producer ??= (async () => {
      const producer = createKafka(this.#options.settings, this.#tuning, 'changelog').producer({ allowAutoTopicCreation: false });
      await producer.connect();
      return producer;
    })();
    this.#producer.catch(() => (this.#producer = undefined));
    return this.#producer;
  }
}

/** Retries a topic request while the cluster has not yet propagated a new topic (up to about 10 s). */
function untilTopicAnswers<T>(request: () => Promise<T>): Promise<T> {
  return topicPropagation.execute(request);
}

const topicPropagation = retry(handleWhen(isTransientKafkaError), { maxAttempts: 25, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }) });
