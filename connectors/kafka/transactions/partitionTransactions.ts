import type { Producer, TopicMessages, Transaction } from 'kafkajs';
import type { CommittedBy } from '../../../core/checkpoint/partitionStore.ts';
import { finishedWithin, withDeadline } from '../../../core/deadline.ts';
import { ConnectorError } from '../../../core/errors.ts';
import type { KafkaSettings } from '../../../core/job.ts';
import { partitionKey } from '../../../core/partition.ts';
import { createKafka, logKafkaLine, type KafkaTuning } from '../config.ts';
import { describeKafkaError } from '../errors.ts';
import { cachedKeyPartitioner } from '../producer/producerQueue.ts';
import { requestChunks } from '../producer/requestChunks.ts';
import { leftOpenFate, openTransactions, type OpenTransaction } from './leftOpen.ts';

/** How long closing a partition's producer waits for its last send or commit. */
const DISCARD_WAIT_MS = 10_000;

/** An input partition: the unit that owns a transactional producer. */
export interface InputPartition {
  readonly topic: string;
  readonly partition: number;
}

/** What one input partition commits at a checkpoint, besides the outputs it already sent. */
export interface PartitionCommit extends InputPartition {
  /** The last input offset the outputs and state reflect; the group's committed offset becomes offset + 1. */
  readonly offset: number;
  /** Changelog records of the same checkpoint. */
  readonly messages: TopicMessages[];
}

export interface PartitionTransactionsOptions {
  settings: KafkaSettings;
  tuning: KafkaTuning;
  log?: (line: string) => void;
}

interface Entry {
  readonly producer: Producer;
  /** Every send and the commit of this partition, in order: a commit covers exactly the sends queued before it. */
  tail: Promise<void>;
  transaction: Transaction | undefined;
  /** Something was sent in the open transaction. */
  dirty: boolean;
  /** The partition went to another process: its open transaction is left to be aborted. */
  released: boolean;
  /** A send or commit failed: the open transaction lost records, it must never commit. */
  failure: unknown;
}

/**
 * Exactly-once output through Kafka transactions, one transactional producer per input
 * partition (Kafka Streams' original EOS design): the outputs, dead letters and changelog
 * records caused by partition p, and p's consumed offset, go into one transaction of producer
 * `<group>-<topic>-<p>`, committed at each checkpoint.
 *
 * Why per partition: kafkajs' `sendOffsets` sends TxnOffsetCommit without the group generation
 * (no KIP-447), so the broker cannot fence a process by group epoch. A transactional id that
 * follows the partition can: whoever is assigned p next claims `<group>-<topic>-<p>`, which
 * bumps its epoch, aborts the previous owner's open transaction and fences every later send or
 * commit of it. Limits: one producer (and its connections) per assigned partition, and one
 * transaction per partition per checkpoint.
 *
 * @example
 * const transactions = new PartitionTransactions({ settings: env.kafka, tuning: kafkaTuning() });
 * await transactions.claim([{ topic: 'transactions', partition: 0 }]);
 * await transactions.send({ topic: 'transactions', partition: 0 }, [{ topic: 'decisions', messages }]);
 * await transactions.commit([{ topic: 'transactions', partition: 0, offset: 41, messages: [] }]);
 */
export class PartitionTransactions {
  readonly #options: PartitionTransactionsOptions;
  readonly #entries = new Map<string, Entry>();
  /** The topics the producers write, and whether a producer writes all their partitions or only its input's. */
  readonly #written = new Map<string, 'every partition' | 'its input partition'>();
  readonly #log: (line: string) => void;
  #closed = false;

  constructor(options: PartitionTransactionsOptions) {
    this.#options = options;
    this.#log = options.log ?? logKafkaLine;
  }

  /**
   * Declares a topic the transactions write (an output, the dead letters, the changelog), where
   * {@link closeLeftOpen} looks for what an earlier owner left open. A changelog partition is
   * written only by its input partition's producer.
   */
  writesTo(topic: string, scope: 'every partition' | 'its input partition' = 'every partition'): void {
    if (this.#written.get(topic) !== 'every partition') this.#written.set(topic, scope);
  }

  /** The transactional id of an input partition's producer. */
  transactionalId({ topic, partition }: InputPartition): string {
    return `${this.#options.settings.groupId}-${topic}-${partition}`;
  }

  /**
   * This process now owns these partitions: starts their producers and claims their
   * transactional ids, which aborts a previous owner's open transaction and fences it. Must
   * finish before their state is read back, so the read sees only what committed.
   */
  async claim(partitions: readonly InputPartition[]): Promise<void> {
    await Promise.all(
      partitions.map(async (input) => {
        const key = partitionKey(input.topic, input.partition);
        const previous = this.#entries.get(key);
        if (previous !== undefined && !previous.released) return;
        if (previous !== undefined) await this.#discard(key, previous);
        const producer = createKafka(this.#options.settings, this.#options.tuning, `eos-${input.topic}-${input.partition}`).producer({
          transactionalId: this.transactionalId(input),
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          createPartitioner: cachedKeyPartitioner,
          // Leader moves and short outages (up to about 30 s) are retried inside the transaction;
          // past that the job fails. The first retries come quickly: the first send after a commit
          // meets CONCURRENT_TRANSACTIONS until the broker has written the commit markers.
          retry: { retries: 20, initialRetryTime: 10, maxRetryTime: 3000 },
          transactionTimeout: this.#options.tuning.transactionTimeoutMs,
        });
        try {
          // InitProducerId with the transactional id happens here: the fencing step.
          const transaction = await this.#answered(producer.connect().then(() => producer.transaction()), `claim ${this.transactionalId(input)}`);
          this.#entries.set(key, { producer, tail: Promise.resolve(), transaction, dirty: false, released: false, failure: undefined });
        } catch (error) {
          await settledWithin(producer.disconnect(), DISCARD_WAIT_MS);
          throw new ConnectorError(`could not claim the transactional id ${this.transactionalId(input)}: ${describeKafkaError(error)}`, { cause: error, retriable: true });
        }
      }),
    );
  }

  /**
   * After a claim and the restore of its partitions' state, before any of their records is
   * processed: closes what an earlier epoch of a partition's producer id left open on the
   * partitions it writes. The coordinator completes a transaction without writing the marker
   * of a partition that has no leader at that moment (Kafka 4.x, KAFKA-20734): those records
   * stay open, and this producer's next commit would commit them with its own — a transaction
   * aborted at a broker outage would reach read_committed readers next to its replay. Each one
   * found is aborted, or kept for the next commit when the restored checkpoint shows that it
   * had committed ({@link leftOpenFate}).
   *
   * @example
   * await transactions.claim(partitions);
   * const restored = await changelog.load(partitions);
   * await transactions.closeLeftOpen(partitions, (p) => restored.find((r) => r.partition === p.partition)?.committedBy);
   */
  async closeLeftOpen(partitions: readonly InputPartition[], lastCommit: (input: InputPartition) => CommittedBy | undefined): Promise<void> {
    const claimed = partitions.flatMap((input) => {
      const entry = this.#entry(input);
      return entry === undefined || entry.released || entry.dirty ? [] : [{ input, entry }];
    });
    if (claimed.length === 0 || this.#written.size === 0) return;
    const open = await this.#answered(this.#openTransactions(claimed.map(({ input }) => input.partition)), 'the look for transactions left open');
    await Promise.all(
      claimed.map(async ({ input, entry }) => {
        const transaction = (entry.transaction ??= await this.#answered(entry.producer.transaction(), 'begin a transaction'));
        const own = transaction.producerIdAndEpoch();
        const mine = open.filter((o) => o.producerId === own.producerId && o.producerEpoch < own.producerEpoch);
        if (mine.length === 0) return;
        const committedBy = lastCommit(input);
        const abort = mine.filter((o) => leftOpenFate(o, committedBy) === 'abort');
        const keep = mine.filter((o) => !abort.includes(o));
        const where = (list: OpenTransaction[]) => list.map((o) => `${o.topic}[${o.partition}] from offset ${o.offset}`).join(', ');
        if (keep.length > 0) {
          this.#log(`${this.transactionalId(input)}: a committed transaction of epoch ${keep[0]!.producerEpoch} is still open on ${where(keep)} (the broker lost its commit marker, KAFKA-20734); the next commit closes it as committed`);
        }
        if (abort.length === 0) return;
        const byTopic = new Map<string, { partition: number }[]>();
        for (const o of abort) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partition: o.partition }]);
        try {
          // Adding the partitions to a transaction of the new epoch and aborting it writes the
          // abort marker the broker lost: it closes the old epoch's records there as aborted.
          await this.#answered(transaction.addPartitions([...byTopic].map(([topic, list]) => ({ topic, partitions: list }))), 'adding the partitions left open');
          await this.#answered(transaction.abort(), 'the abort of what was left open');
        } catch (error) {
          throw new ConnectorError(`could not abort what ${this.transactionalId(input)} left open on ${where(abort)}: ${describeKafkaError(error)}`, { cause: error, retriable: true });
        }
        entry.transaction = undefined;
        this.#log(
          `${this.transactionalId(input)}: aborted a transaction of epoch ${abort[0]!.producerEpoch} that the broker had left open on ${where(abort)} (its abort marker was lost while the partition had no leader, KAFKA-20734); read_committed readers go on from there`,
        );
      }),
    );
  }

  /** The transactions open on the partitions the producers of these input partitions write. */
  async #openTransactions(inputPartitions: readonly number[]): Promise<OpenTransaction[]> {
    const admin = createKafka(this.#options.settings, this.#options.tuning, 'eos-left-open').admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const open: OpenTransaction[] = [];
      for (const [topic, scope] of this.#written) {
        // The changelog is created at the first restore or checkpoint: absent, nothing is open there.
        if (!existing.has(topic)) continue;
        open.push(...(await openTransactions(admin, topic, scope === 'every partition' ? undefined : (p) => inputPartitions.includes(p))));
      }
      return open;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /**
   * These partitions went to another process. Their open transactions are aborted (the new
   * owner's claim would abort them anyway); records of theirs still in flight here are dropped
   * at the sink, since the new owner redoes them from the last commit.
   */
  release(partitions: readonly InputPartition[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const entry = this.#entries.get(key);
      if (entry === undefined || entry.released) continue;
      entry.released = true;
      void this.#discard(key, entry);
    }
  }

  /**
   * Sends records caused by `input` in its open transaction; they become visible to
   * read_committed readers when {@link commit} covers them. Records of a released partition
   * are dropped (resolved without sending).
   */
  send(input: InputPartition, topicMessages: TopicMessages[]): Promise<void> {
    const entry = this.#entry(input);
    if (entry === undefined || entry.released) return Promise.resolve();
    const sent = entry.tail.then(async () => {
      if (entry.failure !== undefined) throw entry.failure;
      if (entry.released) return;
      try {
        entry.transaction ??= await this.#answered(entry.producer.transaction(), 'begin a transaction');
        entry.dirty = true;
        const transaction = entry.transaction;
        // One request per megabyte: the broker refuses a larger batch for one partition.
        for (const chunk of requestChunks(topicMessages)) await this.#answered(transaction.sendBatch({ topicMessages: chunk, acks: -1 }), 'a send');
      } catch (error) {
        throw this.#failed(entry, input, 'write to', error);
      }
    });
    entry.tail = sent.catch(() => {});
    return sent;
  }

  /**
   * Commits each partition's open transaction with its changelog records and its consumed
   * offset. The cut is taken synchronously: sends issued after this call go into the next
   * transaction. Resolves when every partition committed; rejects when one could not (its
   * outputs since the last commit are aborted, so the job must restart from that commit).
   */
  commit(commits: readonly PartitionCommit[]): Promise<void> {
    const groupId = this.#options.settings.groupId;
    return Promise.all(
      commits.map((commit) => {
        const entry = this.#entry(commit);
        if (entry === undefined) return Promise.reject(new ConnectorError(`no transactional producer for ${commit.topic}[${commit.partition}]: it was never claimed`));
        if (entry.released) return Promise.resolve();
        const done = entry.tail.then(async () => {
          if (entry.failure !== undefined) throw entry.failure;
          if (entry.released) return;
          try {
            const transaction = (entry.transaction ??= await this.#answered(entry.producer.transaction(), 'begin a transaction'));
            const messages = commit.messages.filter((t) => t.messages.length > 0);
            for (const chunk of requestChunks(messages)) await this.#answered(transaction.sendBatch({ topicMessages: chunk, acks: -1 }), 'a send');
            await this.#answered(
              transaction.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: commit.topic, partitions: [{ partition: commit.partition, offset: String(commit.offset + 1) }] }] }),
              'the offsets',
            );
            await this.#answered(transaction.commit(), 'the commit');
            entry.transaction = undefined;
            entry.dirty = false;
          } catch (error) {
            // A partition taken away meanwhile was fenced by its new owner: not this job's failure.
            if (entry.released) return;
            throw this.#failed(entry, commit, 'commit the transaction of', error);
          }
        });
        entry.tail = done.catch(() => {});
        return done;
      }),
    ).then(() => {});
  }

  /** True when records were sent for `input` since its last commit. */
  dirty(input: InputPartition): boolean {
    return this.#entry(input)?.dirty ?? false;
  }

  /** Aborts what is open and disconnects every producer (a graceful stop commits first). */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries];
    this.#entries.clear();
    await Promise.all(entries.map(([key, entry]) => this.#discard(key, entry)));
  }

  #entry({ topic, partition }: InputPartition): Entry | undefined {
    if (this.#closed) throw new ConnectorError('the transactional producers are closed');
    return this.#entries.get(partitionKey(topic, partition));
  }

  /**
   * Every kafkajs call of a transaction is bounded by the transaction timeout. kafkajs' own
   * timeouts do not bound them all (a request retried behind a broker that stopped answering,
   * a broker lock held by another request), and past the timeout the broker has aborted the
   * transaction anyway: waiting longer only holds the job still, its checkpoint waiting for
   * records that can never commit.
   */
  #answered<T>(call: Promise<T>, what: string): Promise<T> {
    const ms = this.#options.tuning.transactionTimeoutMs;
    return withDeadline(call, ms, () => new ConnectorError(`no answer to ${what} within the transaction timeout of ${ms} ms (SLUICE_KAFKA_TRANSACTION_TIMEOUT_MS)`, { retriable: true }));
  }

  #failed(entry: Entry, input: InputPartition, what: string, error: unknown): ConnectorError {
    const fenced = /fenced|epoch/i.test(describeKafkaError(error));
    const failure = new ConnectorError(
      fenced
        ? `another process took over ${input.topic}[${input.partition}] (transactional id ${this.transactionalId(input)} fenced): this process's uncommitted output was aborted; restart it to rejoin the group`
        : `could not ${what} ${input.topic}[${input.partition}] exactly once (${describeKafkaError(error)}): its uncommitted output is aborted; restart the job to resume from the last commit`,
      { cause: error },
    );
    entry.failure ??= failure;
    return failure;
  }

  async #discard(key: string, entry: Entry): Promise<void> {
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    // A send or commit still retrying against an unreachable broker is not waited for past a
    // bound: the producer is disconnected under it instead, and whoever claims the id next aborts
    // what it left open.
    const settled = await finishedWithin(entry.tail, DISCARD_WAIT_MS);
    const transaction = entry.transaction;
    entry.transaction = undefined;
    // Bounded as well: an abort or a disconnect can wait on the same unanswered requests.
    if (settled && transaction?.isActive() === true) await settledWithin(transaction.abort(), DISCARD_WAIT_MS);
    await settledWithin(entry.producer.disconnect(), DISCARD_WAIT_MS);
  }
}

/** Waits for `call` at most `ms`, however it ends: an abort or a disconnect on the way out. */
function settledWithin(call: Promise<void>, ms: number): Promise<void> {
  return finishedWithin(call, ms).then(
    () => {},
    () => {},
  );
}
