import type { Consumer } from 'kafkajs';
import type { SourcePartitions } from '../../../core/job.ts';
import type { Instrumentation } from '../../../core/instrumentation.ts';
import { describeKafkaError } from '../errors.ts';
import type { OffsetCommit, OffsetLedger } from './offsetLedger.ts';

/**
 * When and how a Kafka source commits: what the {@link OffsetLedger} says is due, one commit
 * request at a time (repeated while more became due meanwhile), early once half the in-flight
 * budget is uncommitted, and with retries on close. Only commits the broker accepted count:
 * they are recorded from kafkajs' COMMIT_OFFSETS event ({@link committed}), because kafkajs
 * skips a commit silently while its consumer restarts.
 *
 * @example
 * const committer = new OffsetCommitter(ledger, ctx.partitions, () => consumer, { instrumentation, log, onCommitted: () => room.wake() });
 * setInterval(() => void committer.commit(), 1000);
 */
export class OffsetCommitter {
  readonly #ledger: OffsetLedger;
  readonly #partitions: SourcePartitions;
  readonly #instrumentation: Instrumentation;
  readonly #consumer: () => Consumer | undefined;
  readonly #log: (line: string) => void;
  readonly #onCommitted: () => void;
  readonly #inTransactions: boolean;
  #committing: Promise<void> | undefined;
  #again = false;

  constructor(
    ledger: OffsetLedger,
    partitions: SourcePartitions,
    consumer: () => Consumer | undefined,
    options: {
      instrumentation: Instrumentation;
      log: (line: string) => void;
      onCommitted: () => void;
      /**
       * Exactly once: the offsets were committed with the outputs in the checkpoint's
       * transactions (committable only moves once they have), so nothing is sent here.
       */
      inTransactions?: boolean;
    },
  ) {
    this.#inTransactions = options.inTransactions ?? false;
    this.#ledger = ledger;
    this.#partitions = partitions;
    this.#instrumentation = options.instrumentation;
    this.#consumer = consumer;
    this.#log = options.log;
    this.#onCommitted = options.onCommitted;
  }

  /** Uncommitted records have reached the budget: the source must wait for a commit. */
  get full(): boolean {
    return this.#ledger.uncommitted() >= this.#partitions.maxUncommitted;
  }

  /**
   * Commits early once half the budget is uncommitted, so the source rarely waits for a commit.
   * With checkpoints, offsets become committable only at a checkpoint: ask for one now.
   */
  maybeCommit(): void {
    if (this.#ledger.uncommitted() * 2 < this.#partitions.maxUncommitted) return;
    this.#partitions.requestCheckpoint();
    if (this.#committing === undefined) void this.commit();
  }

  /** Commits whatever is due; one request at a time, repeated while more became due meanwhile. */
  commit(): Promise<void> {
    if (this.#committing !== undefined) {
      this.#again = true;
      return this.#committing;
    }
    const partitions = this.#partitions;
    this.#committing = (async () => {
      do {
        this.#again = false;
        const due = this.#ledger.due(partitions.committable);
        if (due.length === 0) break;
        try {
          await this.commitNow(due);
        } catch {
          break; // the broker is away or the group is rebalancing: the next tick tries again
        }
      } while (this.#again);
    })().finally(() => {
      // No wake-up here: only a commit the broker accepted makes room (see committed()).
      // Waking on a failed or empty commit would spin a batch that waits for room.
      this.#committing = undefined;
    });
    return this.#committing;
  }

  /** Sends these commits now (rejects when the broker refuses them). */
  async commitNow(commits: readonly OffsetCommit[]): Promise<void> {
    const consumer = this.#consumer();
    if (commits.length === 0 || consumer === undefined) return;
    if (this.#inTransactions) return this.#record(commits);
    await consumer.commitOffsets(commits.map((c) => ({ topic: c.topic, partition: c.partition, offset: String(c.offset) })));
  }

  /** The broker accepted these commits (kafkajs' COMMIT_OFFSETS event). */
  committed(topics: readonly { topic: string; partitions: readonly { partition: number | string; offset: unknown }[] }[]): void {
    const commits: OffsetCommit[] = [];
    for (const { topic, partitions } of topics) {
      for (const { partition, offset } of partitions) commits.push({ topic, partition: Number(partition), offset: Number(String(offset)) });
    }
    this.#record(commits);
  }

  #record(commits: readonly OffsetCommit[]): void {
    this.#ledger.committed(commits);
    const instrumentation = this.#instrumentation;
    if (instrumentation.wants('source.commit')) for (const c of commits) instrumentation.emit('source.commit', c);
    this.#onCommitted();
  }

  /** On close: commit everything done, retrying briefly through a rebalance or a broker blip. */
  async final(): Promise<void> {
    const partitions = this.#partitions;
    await this.#committing;
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const due = this.#ledger.due(partitions.committable);
      if (due.length === 0) return;
      try {
        await this.commitNow(due);
      } catch (error) {
        lastError = error;
      }
      if (this.#ledger.due(partitions.committable).length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 300 * (attempt + 1)));
    }
    const left = this.#ledger.due(partitions.committable);
    this.#log(
      `final commit failed for ${left.map((c) => `${c.topic}[${c.partition}]@${c.offset}`).join(' ')}` +
        (lastError === undefined ? '' : ` (${describeKafkaError(lastError)})`) +
        `; the next run repeats up to ${this.#ledger.uncommitted()} records`,
    );
  }
}
