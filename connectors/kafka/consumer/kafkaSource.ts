import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { describeError, InvalidOptionError } from '../../../core/errors.ts';
import type { KafkaSettings, Source, SourceContext } from '../../../core/job.ts';
import type { SourceRecord } from '../../../core/record.ts';
import { jsonDecoder } from '../../../core/decode.ts';
import { createKafka, kafkaTuning, logKafkaLine, type KafkaTuning } from '../config.ts';
import { consumerStartError, groupConsumer, watchCrashes } from './groupConsumer.ts';
import { readHeaders, traceFromHeaders } from '../headers.ts';
import { GroupAssignments } from './assignments.ts';
import { LagReporter } from './lagReporter.ts';
import { FetchPause } from './fetchPause.ts';
import { BatchRoom } from './batchRoom.ts';
import { OffsetCommitter } from './offsetCommitter.ts';
import { OffsetLedger } from './offsetLedger.ts';
import { Wakeup } from './wakeup.ts';

export interface KafkaSourceOptions<T> {
  /** Brokers, group and start position: `env.kafka` of the run. */
  settings: KafkaSettings;
  /** Topic(s) to read. */
  topic: string | readonly string[];
  /** Bytes to value; a throw dead-letters the record with its message. Default: JSON, unchecked (`jsonDecoder(schema.parse)` checks). */
  decode?: (bytes: Uint8Array) => T;
  /** Event time of a value; default the Kafka record's timestamp. */
  timestamp?: (value: T) => number;
  /** The record key from its value; default the Kafka message key. */
  key?: (value: T) => string;
  /** Overrides of the client timings (otherwise defaults and SLUICE_KAFKA_* variables). */
  tuning?: Partial<KafkaTuning>;
  /** How long a revocation waits for revoked partitions' records before the new owner redoes them. Default: session timeout / 3. */
  revokeTimeoutMs?: number;
  /** Where operator-facing lines go (assignments, restarts); default stderr. */
  log?: (line: string) => void;
  /** Exactly once: the job's transactions commit the offsets. */
  transactional?: boolean;
}

/**
 * Reads Kafka topics as one member of a consumer group (`settings.groupId`), at least once: an
 * offset is committed only once the engine reports it and every earlier one of its partition
 * done (and, with checkpoints, durable), on an interval, after each checkpoint, when the
 * uncommitted records reach half the in-flight budget, on revocation and on close.
 *
 * Flow control follows the engine's events (`ctx.partitions.on`): a full budget pauses fetching,
 * half of it free resumes it; a fetched batch waits for the same while it heartbeats, so a slow
 * pipeline never costs the group membership. Uncommitted records never exceed the budget either,
 * so a crash makes the next run redo at most `maxInFlight` records.
 *
 * Emits `source.records`, `.lag`, `.commit`, `.rebalance` and `.backpressure` events.
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

class KafkaSource<T> implements Source<T> {
  readonly name: string;
  readonly #options: KafkaSourceOptions<T>;
  readonly #topics: string[];
  readonly #tuning: KafkaTuning;
  readonly #decode: (bytes: Uint8Array) => T;
  readonly #log: (line: string) => void;
  readonly #ledger = new OffsetLedger();
  readonly #stopped = new Wakeup();
  #ctx: SourceContext<T> | undefined;
  #consumer: Consumer | undefined;
  #stopping = false;
  #fatal: Error | undefined;
  #committer: OffsetCommitter | undefined;
  /** Where a fetched batch waits for room or for its partition's state. */
  #room: BatchRoom | undefined;
  #assignments: GroupAssignments | undefined;
  #lag: LagReporter | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #batch: Promise<void> | undefined;
  #off: (() => void)[] = [];

  constructor(options: KafkaSourceOptions<T>, topics: string[]) {
    this.#options = options;
    this.#topics = topics;
    this.#tuning = kafkaTuning(process.env, options.tuning);
    this.#decode = options.decode ?? jsonDecoder((value) => value as T);
    this.#log = options.log ?? logKafkaLine;
    this.name = `kafka:${topics.join(',')}`;
  }

  async run(ctx: SourceContext<T>): Promise<void> {
    if (ctx.signal.aborted) return; // stopped during start-up: a listener added now would never fire
    this.#ctx = ctx;
    const { settings } = this.#options;
    const tuning = this.#tuning;
    // A stopping source does not restart its consumer after a failure.
    const consumer = groupConsumer(settings, tuning, () => !this.#stopping);
    this.#consumer = consumer;
    const topics = this.#topics.map((topic) => ({ topic }));
    const fetch = new FetchPause({
      pause: () => consumer.pause(topics),
      resume: () => consumer.resume(topics),
      changed: (paused) => ctx.instrumentation.emit('source.backpressure', { source: this.name, paused }),
    });
    const committer = new OffsetCommitter(this.#ledger, ctx.partitions, () => this.#consumer, {
      instrumentation: ctx.instrumentation,
      log: this.#log,
      onCommitted: () => this.#room?.wake(),
      inTransactions: this.#options.transactional,
    });
    this.#committer = committer;
    const room = new BatchRoom(fetch, committer, () => this.#stopping);
    this.#room = room;
    this.#assignments = new GroupAssignments({
      groupId: settings.groupId,
      ledger: this.#ledger,
      committer,
      partitions: ctx.partitions,
      instrumentation: ctx.instrumentation,
      consumer: () => this.#consumer,
      revokeTimeoutMs: this.#options.revokeTimeoutMs ?? Math.floor(tuning.sessionTimeoutMs / 3),
      log: this.#log,
      wake: () => room.wake(),
      reapplyPause: () => fetch.reapply(),
      fail: (error) => {
        this.#fatal = error;
        this.#stop();
      },
    });
    const lag = new LagReporter(this.#ledger, ctx.instrumentation, () => createKafka(settings, tuning, 'lag').admin());
    this.#lag = lag;
    this.#listen(consumer);

    const abort = () => this.#stop();
    ctx.signal.addEventListener('abort', abort, { once: true });
    try {
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: this.#topics, fromBeginning: settings.start === 'earliest' });
      } catch (error) {
        await consumer.disconnect().catch(() => {});
        throw consumerStartError(error, this.#topics, settings.brokers);
      }
      this.#off.push(
        ctx.partitions.on({
          full: () => fetch.full(),
          resume: () => {
            room.wake();
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
        void lag.tick();
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
      await this.#lag?.close();
      for (const off of this.#off) off();
      await consumer.disconnect().catch(() => {});
    }
  }

  #stop(): void {
    this.#stopping = true;
    this.#room?.wake();
    this.#stopped.wake();
  }

  #listen(consumer: Consumer): void {
    const { events } = consumer;
    this.#off.push(
      consumer.on(events.GROUP_JOIN, ({ payload }) => this.#assignments?.assigned(payload.memberAssignment)),
      consumer.on(events.COMMIT_OFFSETS, ({ payload }) => this.#committer?.committed(payload.topics)),
      this.#lag!.watchSkipped(consumer),
      watchCrashes(consumer, this.#options.settings, {
        stopping: () => this.#stopping,
        log: this.#log,
        fail: (error) => {
          this.#fatal = error;
          this.#stop();
        },
      }),
    );
  }

  async #eachBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const ctx = this.#ctx!;
    const { topic, partition } = batch;
    const ledger = this.#ledger;
    if (this.#stopping || !ledger.has(topic, partition)) return;
    const room = this.#room!;
    const liveness = { heartbeat, isRunning, owned: () => ledger.has(topic, partition) };
    const restoring = this.#assignments!.restoring(topic, partition);
    if (restoring !== undefined && !(await room.waitForRestore(restoring, liveness))) return;
    this.#lag!.fetched(topic, partition, Number(batch.highWatermark));
    let finish!: () => void;
    this.#batch = new Promise<void>((resolve) => (finish = resolve));
    let emitted = 0;
    const committer = this.#committer!;
    try {
      for (const message of batch.messages) {
        if (this.#stopping || !isRunning() || isStale()) break;
        const offset = Number(message.offset);
        if (!ledger.accept(topic, partition, offset)) continue;
        if (room.closed && !(await room.waitForRoom(liveness))) break;
        const wait = this.#admit(ctx, topic, partition, offset, message);
        ledger.emitted(topic, partition, offset);
        if (wait !== undefined) await wait;
        if ((++emitted & 127) === 0) {
          committer.maybeCommit();
          if (emitted % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      committer.maybeCommit();
    } finally {
      const resume = ledger.afterBatch(batch);
      if (resume !== undefined) resolveOffset(String(resume));
      if (emitted > 0 && ctx.instrumentation.wants('source.records')) ctx.instrumentation.emit('source.records', { source: this.name, count: emitted });
      this.#lag!.report(topic, partition);
      this.#batch = undefined;
      finish();
    }
  }

  /** Hands one Kafka message to the job, or to the dead-letter sink when it has no value or does not decode. */
  #admit(ctx: SourceContext<T>, topic: string, partition: number, offset: number, message: KafkaMessage): Promise<void> | undefined {
    const headers = readHeaders(message.headers);
    // The key as text only where used: a job's own `key` replaces it (one string per record less).
    const originalKey = message.key ?? undefined;
    const position = { topic, partition, offset };
    const trace = headers.traceparent === undefined ? undefined : traceFromHeaders(headers);
    const bytes = message.value;
    const timestamp = Number(message.timestamp);
    if (bytes === null) return ctx.deadLetter({ key: message.key?.toString('utf8'), originalKey, value: undefined, position, headers, trace, timestamp }, 'record has no value (a tombstone)');
    let value: T;
    try {
      value = this.#decode(bytes);
    } catch (error) {
      return ctx.deadLetter({ key: message.key?.toString('utf8'), originalKey, value: undefined, position, headers, trace, original: bytes, timestamp }, describeError(error));
    }
    const { key: keyOf, timestamp: timeOf } = this.#options;
    const record: SourceRecord<T> = { key: keyOf === undefined ? message.key?.toString('utf8') : keyOf(value), originalKey, value, timestamp: timeOf === undefined ? timestamp : timeOf(value), position, headers, trace, original: bytes };
    return ctx.emit(record);
  }
}
