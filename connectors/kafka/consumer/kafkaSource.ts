import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { ConnectorError, describeError, InvalidOptionError } from '../../../core/errors.ts';
import type { KafkaSettings, Source, SourceContext } from '../../../core/job.ts';
import type { SourceRecord } from '../../../core/record.ts';
import { jsonDecoder } from '../../../core/decode.ts';
import { createKafka, kafkaTuning, type KafkaTuning } from '../config.ts';
import { brokersUnreachable, describeKafkaError, isRebalanceError, isTransientKafkaError } from '../errors.ts';
import { readHeaders, traceFromHeaders } from '../headers.ts';
import { FetchPause } from './fetchPause.ts';
import { OffsetCommitter } from './offsetCommitter.ts';
import { OffsetLedger } from './offsetLedger.ts';
import { Wakeup } from './wakeup.ts';
import { partitionKey } from '../../../core/partition.ts';

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
 * Flow control: when the job's in-flight budget is full the consumer pauses its partitions
 * (kafkajs `pause`) and resumes once half the budget is free; a batch already fetched waits for
 * room while it keeps heartbeating, so a slow pipeline never costs the group membership. Records
 * handed out but not yet committed never exceed the budget either, so a crash makes the next
 * run redo at most `maxInFlight` records.
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

/** Longest a waiting batch sleeps between checks for room (it also wakes on most changes). */
const ROOM_POLL_MS = 20;
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
  /** Wakes a batch waiting for room: budget freed, commit done, stop, revocation. */
  readonly #room = new Wakeup();
  #ctx: SourceContext<T> | undefined;
  #consumer: Consumer | undefined;
  #stopping = false;
  #fatal: Error | undefined;
  #stopped = new Wakeup();
  /** Pauses fetching while the budget is full (set up in run). */
  #fetch: FetchPause | undefined;
  #committer: OffsetCommitter | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #batch: Promise<void> | undefined;
  readonly #revocations = new Set<Promise<void>>();
  /** Partitions whose state the engine is restoring (from the changelog) before their records may flow. */
  readonly #restoring = new Map<string, Promise<void>>();
  #assignment: { topic: string; partitions: number[] }[] = [];
  #offBackpressure: (() => void) | undefined;
  #offConsumerEvents: (() => void)[] = [];

  constructor(options: KafkaSourceOptions<T>, topics: string[]) {
    this.#options = options;
    this.#topics = topics;
    this.#tuning = kafkaTuning(process.env, options.tuning);
    this.#decode = options.decode ?? jsonDecoder((value) => value as T);
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
      inFlight: () => {
        let inFlight = 0;
        for (const { topic, partition } of this.#ledger.assigned()) inFlight += ctx.pending(topic, partition);
        return inFlight;
      },
      maxInFlight: ctx.maxInFlight,
      changed: (paused) => ctx.instrumentation.emit('source.backpressure', { source: this.name, paused }),
    });
    this.#fetch = fetch;
    this.#committer = new OffsetCommitter(this.#ledger, ctx as SourceContext<unknown>, () => this.#consumer, { log: this.#log, onCommitted: () => this.#room.wake() });
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
      this.#offBackpressure = ctx.onBackpressure({
        onFull: () => fetch.full(),
        onAvailable: () => {
          this.#room.wake();
          if (!this.#stopping) fetch.available();
        },
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => this.#eachBatch(payload),
      });
      this.#commitTimer = setInterval(() => {
        void this.#committer?.commit();
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
    this.#fetch?.dispose();
    this.#offBackpressure?.();
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    try {
      await Promise.all(this.#revocations);
      await this.#committer?.final();
    } finally {
      for (const off of this.#offConsumerEvents) off();
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
    if (isTransientKafkaError(error)) return brokersUnreachable(this.#options.settings.brokers, error);
    return new ConnectorError(`Kafka consumer could not start: ${message}`, { cause: error });
  }

  #listen(consumer: Consumer): void {
    const { events } = consumer;
    this.#offConsumerEvents.push(
      consumer.on(events.GROUP_JOIN, ({ payload }) => this.#onAssignment(payload.memberAssignment)),
      consumer.on(events.COMMIT_OFFSETS, ({ payload }) => this.#committer?.committed(payload.topics)),
      consumer.on(events.CRASH, ({ payload }) => {
        if (this.#stopping) return;
        if (payload.restart) {
          this.#log(`consumer of group ${this.#options.settings.groupId} failed (${describeKafkaError(payload.error)}); restarting it`);
          return;
        }
        this.#fatal = isTransientKafkaError(payload.error)
          ? brokersUnreachable(this.#options.settings.brokers, payload.error)
          : new ConnectorError(`Kafka consumer of group ${this.#options.settings.groupId} stopped: ${describeKafkaError(payload.error)}`, { cause: payload.error });
        this.#stop();
      }),
    );
  }

  /** A new assignment after a (re)join: keep positions of kept partitions, revoke the others. */
  #onAssignment(memberAssignment: Record<string, number[]>): void {
    const assignment = Object.entries(memberAssignment).map(([topic, partitions]) => ({ topic, partitions }));
    const added = assignment.flatMap(({ topic, partitions }) => partitions.filter((partition) => !this.#currentlyAssigned(topic, partition)).map((partition) => ({ topic, partition })));
    this.#assignment = assignment;
    const { revoked, kept } = this.#ledger.assign(assignment);
    const consumer = this.#consumer;
    // Kept partitions would be fetched again from their committed offset; skip to what is next.
    for (const { topic, partition, next } of kept) {
      try {
        consumer?.seek({ topic, partition, offset: String(next) });
      } catch {
        // The ledger refuses the re-fetched offsets anyway.
      }
    }
    // A consumer restarted after a crash has forgotten that it was paused.
    this.#fetch?.reapply();
    const count = assignment.reduce((n, a) => n + a.partitions.length, 0);
    this.#ctx?.instrumentation.emit('source.rebalance', { assigned: count, revoked: revoked.length });
    const describe = (list: { topic: string; partitions: number[] }[]) =>
      list.length === 0 ? 'nothing' : list.map((a) => `${a.topic}[${[...a.partitions].sort((x, y) => x - y).join(',')}]`).join(' ');
    this.#log(
      `group ${this.#options.settings.groupId}: assigned ${describe(assignment)}` +
        (revoked.length > 0 ? `; revoked ${revoked.map((r) => `${r.topic}[${r.partition}]`).join(' ')}` : ''),
    );
    if (revoked.length > 0) this.#ctx?.revoked(revoked);
    if (added.length > 0) this.#restore(added);
    if (revoked.length > 0) {
      this.#room.wake();
      const task = this.#revoke(revoked).finally(() => this.#revocations.delete(task));
      this.#revocations.add(task);
    }
  }

  /**
   * Revoked partitions: wait (bounded) for their records in flight, commit what is done, then
   * forget them. Records still open after the wait are abandoned deliberately: the new owner
   * starts from the commit and redoes them (at least once), and their late completion here is
   * harmless.
   */
  async #revoke(partitions: { topic: string; partition: number }[]): Promise<void> {
    const ctx = this.#ctx;
    if (ctx === undefined) return;
    const timeoutMs = this.#options.revokeTimeoutMs ?? Math.floor(this.#tuning.sessionTimeoutMs / 3);
    const results = await Promise.all(partitions.map(({ topic, partition }) => ctx.drained(topic, partition, timeoutMs)));
    const revoked = new Set(partitions.map(({ topic, partition }) => partitionKey(topic, partition)));
    const isRevoked = (topic: string, partition: number) => revoked.has(partitionKey(topic, partition));
    await this.#committer!.commitNow(this.#ledger.due(ctx.committable, isRevoked)).catch((error: unknown) => {
      this.#log(`could not commit revoked partitions (${describeKafkaError(error)}); their new owner may repeat some records`);
    });
    const abandoned: string[] = [];
    partitions.forEach(({ topic, partition }, i) => {
      if (!results[i]) abandoned.push(`${topic}[${partition}]: ${ctx.pending(topic, partition)}`);
    });
    if (abandoned.length > 0) this.#log(`revoked partitions still had records in flight after ${timeoutMs} ms (${abandoned.join(', ')}); their new owner repeats them`);
    for (const { topic, partition } of partitions) {
      if (this.#currentlyAssigned(topic, partition)) continue; // given back to us meanwhile
      this.#ledger.remove(topic, partition);
      ctx.forget(topic, partition);
    }
    this.#room.wake();
  }

  /** Has the engine restore the state of newly assigned partitions; their batches wait for it. */
  #restore(partitions: { topic: string; partition: number }[]): void {
    const ctx = this.#ctx;
    if (ctx === undefined) return;
    const restoring = ctx.assigned(partitions);
    const keys = partitions.map(({ topic, partition }) => partitionKey(topic, partition));
    for (const key of keys) this.#restoring.set(key, restoring);
    restoring.then(
      () => keys.forEach((key) => this.#restoring.get(key) === restoring && this.#restoring.delete(key)),
      (error: unknown) => {
        this.#fatal = new ConnectorError(`could not restore the state of ${keys.map((k) => k.replace('\u0000', '[') + ']').join(' ')}: ${describeError(error)}`, { cause: error });
        this.#stop();
      },
    );
  }

  /** Waits for a partition's state to be restored, heartbeating; false when the batch should be left. */
  async #waitForRestore(restoring: Promise<void>, heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<boolean> {
    let restored = false;
    void restoring.then(() => (restored = true), () => {});
    while (!restored) {
      if (this.#stopping || !isRunning()) return false;
      await Promise.race([restoring.catch(() => {}), new Promise((resolve) => setTimeout(resolve, ROOM_POLL_MS * 5))]);
      if (!restored) await heartbeat();
    }
    return !this.#stopping;
  }

  #currentlyAssigned(topic: string, partition: number): boolean {
    return this.#assignment.some((a) => a.topic === topic && a.partitions.includes(partition));
  }

  async #eachBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const ctx = this.#ctx!;
    const { topic, partition } = batch;
    const ledger = this.#ledger;
    if (this.#stopping || !ledger.has(topic, partition)) return;
    const restoring = this.#restoring.get(partitionKey(topic, partition));
    if (restoring !== undefined && !(await this.#waitForRestore(restoring, heartbeat, isRunning))) return;
    ledger.observeHighWatermark(topic, partition, Number(batch.highWatermark));
    let finish!: () => void;
    this.#batch = new Promise<void>((resolve) => (finish = resolve));
    let emitted = 0;
    try {
      for (const message of batch.messages) {
        if (this.#stopping || !isRunning() || isStale()) break;
        const offset = Number(message.offset);
        if (!ledger.accept(topic, partition, offset)) continue;
        if (this.#fetch!.budgetFull || this.#committer!.full) {
          if (!(await this.#waitForRoom(heartbeat, isRunning, topic, partition))) break;
        }
        const wait = this.#admit(ctx, topic, partition, offset, message);
        ledger.emitted(topic, partition, offset);
        if (wait !== undefined) await wait;
        if ((++emitted & 127) === 0) {
          this.#committer!.maybeCommit();
          if (emitted % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      this.#committer!.maybeCommit();
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

  /** Hands one Kafka record to the job, or to the dead-letter sink when it does not decode. */
  #admit(ctx: SourceContext<T>, topic: string, partition: number, offset: number, message: KafkaMessage): Promise<void> | undefined {
    const headers = readHeaders(message.headers);
    const key = message.key === null ? undefined : message.key.toString('utf8');
    const originalKey = message.key ?? undefined;
    const position = { topic, partition, offset };
    const trace = headers.traceparent === undefined ? undefined : traceFromHeaders(headers);
    const bytes = message.value;
    if (bytes === null) {
      return ctx.deadLetter({ key, originalKey, value: undefined, position, headers, trace, timestamp: Number(message.timestamp) }, 'record has no value (a tombstone)');
    }
    let value: T;
    try {
      value = this.#decode(bytes);
    } catch (error) {
      return ctx.deadLetter({ key, originalKey, value: undefined, position, headers, trace, original: bytes, timestamp: Number(message.timestamp) }, describeError(error));
    }
    const record: SourceRecord<T> = {
      key: this.#options.key === undefined ? key : this.#options.key(value),
      originalKey,
      value,
      timestamp: this.#options.timestamp === undefined ? Number(message.timestamp) : this.#options.timestamp(value),
      position,
      headers,
      trace,
      original: bytes,
    };
    return ctx.emit(record);
  }

  /**
   * Waits until the budget has room and the uncommitted records are below it, heartbeating so
   * the group keeps this member. False when the batch should be left: stopping, the consumer
   * stopped, or the partition was revoked. A rebalance noticed by the heartbeat commits what is
   * done (Kafka accepts it while the group prepares the rebalance), then leaves the batch.
   */
  async #waitForRoom(heartbeat: () => Promise<void>, isRunning: () => boolean, topic: string, partition: number): Promise<boolean> {
    for (;;) {
      if (this.#stopping || !isRunning() || !this.#ledger.has(topic, partition)) return false;
      if (!this.#fetch!.budgetFull && !this.#committer!.full) return true;
      this.#committer!.maybeCommit();
      await this.#room.wait(ROOM_POLL_MS);
      try {
        await heartbeat();
      } catch (error) {
        if (isRebalanceError(error)) await this.#committer!.commit().catch(() => {});
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
