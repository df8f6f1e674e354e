import type { Consumer, EachBatchPayload } from 'kafkajs';
import { ConnectorError, InvalidOptionError } from '../../../core/errors.ts';
import type { KafkaSettings, Source, SourceContext } from '../../../core/job.ts';
import { jsonDecoder } from '../../../core/decode.ts';
import { createKafka, kafkaTuning, type KafkaTuning } from '../config.ts';
import { describeKafkaError, isRebalanceError, kafkaError } from '../errors.ts';
import { GroupAssignments } from './assignments.ts';
import { FetchPause } from './fetchPause.ts';
import { admitMessage, type RecordReading } from './kafkaRecord.ts';
import { OffsetCommitter } from './offsetCommitter.ts';
import { OffsetLedger } from './offsetLedger.ts';
import { Wakeup } from './wakeup.ts';

export interface KafkaSourceOptions<T> {
  /** Brokers, group and start position: `env.kafka` of the run. */
  settings: KafkaSettings;
  /** Topic(s) to read. */
  topic: string | readonly string[];
  /**
   * Turns a record's bytes into a value; a throw sends the record to the dead-letter sink with
   * the message as the reason. Default: JSON, unchecked (pass `jsonDecoder(schema.parse)`).
   */
  decode?: (bytes: Uint8Array) => T;
  /** Event time of a value; default the Kafka record's timestamp. */
  timestamp?: (value: T) => number;
  /** The record key from its value; default the Kafka message key. */
  key?: (value: T) => string;
  /** Overrides of the client timings (otherwise defaults and SLUICE_KAFKA_* variables). */
  tuning?: Partial<KafkaTuning>;
  /**
   * How long a revocation waits for the records of revoked partitions to finish before it
   * commits what is done and lets the rest go (the new owner redoes them). Default: a third of
   * the session timeout.
   */
  revokeTimeoutMs?: number;
  /** Where operator-facing lines go (assignments, restarts); default stderr. */
  log?: (line: string) => void;
}

/**
 * Reads Kafka topics as one member of a consumer group (`settings.groupId`), with at-least-once
 * commits: an offset is committed only once the engine reports that record and every earlier
 * one of its partition done, on an interval, when the uncommitted records reach half the
 * in-flight budget, when partitions are revoked and on close.
 *
 * Flow control follows the engine's events (`ctx.partitions.on`): when the in-flight budget fills
 * the consumer pauses its partitions (kafkajs `pause`) and resumes once half the budget is free; a
 * batch already fetched waits for the same event while it keeps heartbeating, so a slow pipeline
 * never costs the group membership. Records handed out but not yet committed never exceed the
 * budget either, so a crash makes the next run redo at most `maxInFlight` records. With
 * checkpoints, each durable checkpoint triggers a commit.
 *
 * Emits `source.records`, `source.lag`, `source.commit`, `source.rebalance` and
 * `source.backpressure` instrumentation events.
 *
 * @example
 * kafkaSource({ settings: env.kafka, topic: 'transactions', decode: jsonDecoder(parseTransaction) })
 */
export function kafkaSource<T>(options: KafkaSourceOptions<T>): Source<T> {
  const topics = typeof options.topic === 'string' ? [options.topic] : [...options.topic];
  if (topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '')) {
    throw new InvalidOptionError('kafkaSource: topic must be a non-empty topic name or list of names');
  }
  if (options.settings.brokers.length === 0) throw new InvalidOptionError('kafkaSource: settings.brokers must list at least one host:port');
  return new KafkaSource(options, topics);
}

/** Records emitted in one go before yielding to timers and I/O. */
const YIELD_EVERY = 1024;
/** A waiting batch re-checks kafkajs' own state (isRunning, which raises no event) this often. */
const CONSUMER_CHECK_MS = 500;

class KafkaSource<T> implements Source<T> {
  readonly name: string;
  readonly #options: KafkaSourceOptions<T>;
  readonly #topics: string[];
  readonly #tuning: KafkaTuning;
  readonly #reading: RecordReading<T>;
  readonly #log: (line: string) => void;
  readonly #ledger = new OffsetLedger();
  /** Wakes a batch waiting for room: budget half free, commit done, stop, revocation. */
  readonly #room = new Wakeup();
  readonly #stopped = new Wakeup();
  #ctx: SourceContext<T> | undefined;
  #consumer: Consumer | undefined;
  #stopping = false;
  #fatal: Error | undefined;
  #fetch: FetchPause | undefined;
  #committer: OffsetCommitter | undefined;
  #assignments: GroupAssignments | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #batch: Promise<void> | undefined;
  #off: (() => void)[] = [];

  constructor(options: KafkaSourceOptions<T>, topics: string[]) {
    this.#options = options;
    this.#topics = topics;
    this.#tuning = kafkaTuning(process.env, options.tuning);
    this.#reading = { decode: options.decode ?? jsonDecoder((value) => value as T), timestamp: options.timestamp, key: options.key };
    this.#log = options.log ?? ((line) => process.stderr.write(`kafka: ${line}\n`));
    this.name = `kafka:${topics.join(',')}`;
  }

  async run(ctx: SourceContext<T>): Promise<void> {
    this.#ctx = ctx;
    const { settings } = this.#options;
    const tuning = this.#tuning;
    const consumer = createKafka(settings, tuning, 'consumer').consumer({
      groupId: settings.groupId,
      sessionTimeout: tuning.sessionTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      rebalanceTimeout: tuning.rebalanceTimeoutMs,
      maxWaitTimeInMs: tuning.maxWaitMs,
      allowAutoTopicCreation: false,
      // Retriable failures (a broker gone for a while) restart the consumer; the ledger keeps
      // what was handed out, so nothing enters the job twice. A stopping source does not restart.
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 3000, restartOnFailure: async () => !this.#stopping },
    });
    this.#consumer = consumer;
    const topics = this.#topics.map((topic) => ({ topic }));
    const fetch = new FetchPause({
      pause: () => consumer.pause(topics),
      resume: () => consumer.resume(topics),
      changed: (paused) => ctx.instrumentation.emit('source.backpressure', { source: this.name, paused }),
    });
    this.#fetch = fetch;
    const committer = new OffsetCommitter(this.#ledger, ctx.partitions, () => this.#consumer, {
      instrumentation: ctx.instrumentation,
      log: this.#log,
      onCommitted: () => this.#room.wake(),
    });
    this.#committer = committer;
    this.#assignments = new GroupAssignments({
      groupId: settings.groupId,
      ledger: this.#ledger,
      committer,
      partitions: ctx.partitions,
      instrumentation: ctx.instrumentation,
      consumer: () => this.#consumer,
      revokeTimeoutMs: this.#options.revokeTimeoutMs ?? Math.floor(tuning.sessionTimeoutMs / 3),
      log: this.#log,
      wake: () => this.#room.wake(),
      reapplyPause: () => fetch.reapply(),
      fail: (error) => {
        this.#fatal = error;
        this.#stop();
      },
    });
    this.#listen(consumer);

    const abort = () => this.#stop();
    ctx.signal.addEventListener('abort', abort, { once: true });
    try {
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: this.#topics, fromBeginning: settings.start === 'earliest' });
      } catch (error) {
        await consumer.disconnect().catch(() => {});
        throw this.#startError(error);
      }
      this.#off.push(
        ctx.partitions.on({
          full: () => fetch.full(),
          resume: () => {
            this.#room.wake();
            if (!this.#stopping) fetch.resume();
          },
          checkpointed: () => void committer.commit(),
        }),
      );
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.#eachBatch(payload),
      });
      this.#commitTimer = setInterval(() => {
        void committer.commit();
        this.#reportLag();
      }, tuning.commitIntervalMs);
      if (!this.#stopping) await this.#stopped.wait();
      // Stop fetching; stay in the group so close() can still commit what finishes.
      fetch.stop();
      await this.#batch;
      if (this.#fatal !== undefined) throw this.#fatal;
    } finally {
      ctx.signal.removeEventListener('abort', abort);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#commitTimer);
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    try {
      await this.#assignments?.settled();
      await this.#committer?.final();
    } finally {
      for (const off of this.#off) off();
      await consumer.disconnect().catch(() => {});
    }
  }

  #stop(): void {
    this.#stopping = true;
    this.#room.wake();
    this.#stopped.wake();
  }

  #startError(error: unknown): Error {
    const message = describeKafkaError(error);
    if (/does not host this topic-partition|unknown topic/i.test(message)) {
      return new ConnectorError(
        `Kafka topic ${this.#topics.join(', ')} does not exist on ${this.#options.settings.brokers.join(',')} — create it (or pass --input-topic / SLUICE_INPUT_TOPIC) and run again`,
        { cause: error },
      );
    }
    return kafkaError(error, 'Kafka consumer could not start', this.#options.settings.brokers);
  }

  #listen(consumer: Consumer): void {
    const { events } = consumer;
    const groupId = this.#options.settings.groupId;
    this.#off.push(
      consumer.on(events.GROUP_JOIN, ({ payload }) => this.#assignments?.assigned(payload.memberAssignment)),
      consumer.on(events.COMMIT_OFFSETS, ({ payload }) => this.#committer?.committed(payload.topics)),
      consumer.on(events.CRASH, ({ payload }) => {
        if (this.#stopping) return;
        if (payload.restart) {
          this.#log(`consumer of group ${groupId} failed (${describeKafkaError(payload.error)}); restarting it`);
          return;
        }
        this.#fatal = kafkaError(payload.error, `Kafka consumer of group ${groupId} stopped`, this.#options.settings.brokers);
        this.#stop();
      }),
    );
  }

  async #eachBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const ctx = this.#ctx!;
    const { topic, partition } = batch;
    const ledger = this.#ledger;
    if (this.#stopping || !ledger.has(topic, partition)) return;
    const restoring = this.#assignments!.restoring(topic, partition);
    if (restoring !== undefined && !(await this.#waitFor(restoring, heartbeat, isRunning, topic, partition))) return;
    ledger.observeHighWatermark(topic, partition, Number(batch.highWatermark));
    let finish!: () => void;
    this.#batch = new Promise<void>((resolve) => (finish = resolve));
    let emitted = 0;
    const fetch = this.#fetch!;
    const committer = this.#committer!;
    try {
      for (const message of batch.messages) {
        if (this.#stopping || !isRunning() || isStale()) break;
        const offset = Number(message.offset);
        if (!ledger.accept(topic, partition, offset)) continue;
        if ((fetch.paused || committer.full) && !(await this.#waitForRoom(heartbeat, isRunning, topic, partition))) break;
        const wait = admitMessage(ctx, this.#reading, topic, partition, offset, message);
        ledger.emitted(topic, partition, offset);
        if (wait !== undefined) await wait;
        if ((++emitted & 127) === 0) {
          committer.maybeCommit();
          if (emitted % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      committer.maybeCommit();
    } finally {
      // The next fetch starts after the last record handed out, not after the whole batch.
      const last = ledger.lastEmitted(topic, partition);
      if (last !== undefined && last >= Number(batch.firstOffset() ?? -1)) resolveOffset(String(last));
      if (emitted > 0 && ctx.instrumentation.wants('source.records')) ctx.instrumentation.emit('source.records', { source: this.name, count: emitted });
      const lag = ledger.lag(topic, partition);
      if (lag !== undefined) ctx.instrumentation.emit('source.lag', { topic, partition, lag });
      this.#batch = undefined;
      finish();
    }
  }

  /** Waits for a partition's state to be restored, heartbeating; false when the batch should be left. */
  async #waitFor(restoring: Promise<void>, heartbeat: () => Promise<void>, isRunning: () => boolean, topic: string, partition: number): Promise<boolean> {
    let restored = false;
    void restoring.then(() => (restored = true), () => {});
    void restoring.finally(() => this.#room.wake()).catch(() => {});
    while (!restored) {
      if (this.#stopping || !isRunning() || !this.#ledger.has(topic, partition)) return false;
      await this.#room.wait(CONSUMER_CHECK_MS);
      if (!restored) await heartbeat();
    }
    return !this.#stopping;
  }

  /**
   * Waits until fetching may go on (the budget half free again) and the uncommitted records are
   * below the budget, heartbeating so the group keeps this member. Every condition it waits for
   * wakes it (budget `resume`, an accepted commit, stop, revocation); the timeout is only for
   * kafkajs' own state, which raises no event. False when the batch should be left: stopping, the consumer stopped, or
   * the partition was revoked. A rebalance noticed by the heartbeat commits what is done (Kafka
   * accepts it while the group prepares the rebalance), then leaves the batch.
   */
  async #waitForRoom(heartbeat: () => Promise<void>, isRunning: () => boolean, topic: string, partition: number): Promise<boolean> {
    const committer = this.#committer!;
    for (;;) {
      if (this.#stopping || !isRunning() || !this.#ledger.has(topic, partition)) return false;
      if (!this.#fetch!.paused && !committer.full) return true;
      committer.maybeCommit();
      await this.#room.wait(CONSUMER_CHECK_MS);
      try {
        await heartbeat();
      } catch (error) {
        if (isRebalanceError(error)) await committer.commit().catch(() => {});
        throw error;
      }
    }
  }

  #reportLag(): void {
    const instrumentation = this.#ctx?.instrumentation;
    if (instrumentation === undefined || !instrumentation.wants('source.lag')) return;
    for (const { topic, partition } of this.#ledger.assigned()) {
      const lag = this.#ledger.lag(topic, partition);
      if (lag !== undefined) instrumentation.emit('source.lag', { topic, partition, lag });
    }
  }
}
