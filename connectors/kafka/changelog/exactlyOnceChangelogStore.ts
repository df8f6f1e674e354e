import type { PartitionCheckpoint, PartitionCheckpointStore, RestoredPartition } from '../../../core/checkpoint/partitionStore.ts';
import { partitionKey } from '../../../core/partition.ts';
import type { PartitionTransactions } from '../transactions/partitionTransactions.ts';
import { changelogMessages } from './changelogFormat.ts';

export interface ExactlyOnceChangelogOptions {
  /** The changelog store that reads state back (read_committed) on assignment. */
  readonly restore: PartitionCheckpointStore;
  /** The changelog topic the checkpoint's records go to, inside the transactions. */
  readonly topic: string;
  readonly transactions: PartitionTransactions;
  /** A commit that failed: the outputs since the last one are aborted, so the job must stop. */
  readonly onFailure?: (error: unknown) => void;
}

/**
 * The changelog of an exactly-once job: a checkpoint is one Kafka transaction per input
 * partition holding the partition's outputs and dead letters (already sent), its changelog
 * records and its consumed offset. On assignment it first claims the partitions' transactional
 * ids (aborting a previous owner's open transaction), then restores their state from what
 * committed, then closes what the broker may have left open of an earlier owner's transactions
 * (PartitionTransactions.closeLeftOpen). A partition with nothing new since its last commit is
 * left out of the checkpoint.
 *
 * @example
 * const store = exactlyOnceChangelogStore({ restore: kafkaChangelogStore({ settings, topic }), topic, transactions });
 */
export function exactlyOnceChangelogStore(options: ExactlyOnceChangelogOptions): PartitionCheckpointStore {
  return new ExactlyOnceChangelogStore(options);
}

class ExactlyOnceChangelogStore implements PartitionCheckpointStore {
  readonly #options: ExactlyOnceChangelogOptions;
  /** What the last commit of each partition held, to leave out partitions where nothing changed. */
  readonly #last = new Map<string, { offset: number; operators: string }>();

  constructor(options: ExactlyOnceChangelogOptions) {
    this.#options = options;
    // Changelog partition p holds input partition p's checkpoints, written by p's producer only.
    options.transactions.writesTo(options.topic, 'its input partition');
  }

  async load(partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<RestoredPartition[]> {
    const { transactions, restore } = this.#options;
    await transactions.claim(partitions);
    const restored = await restore.load(partitions);
    const lastCommit = new Map(restored.map((r) => [partitionKey(r.topic, r.partition), r.committedBy]));
    await transactions.closeLeftOpen(partitions, (input) => lastCommit.get(partitionKey(input.topic, input.partition)));
    return restored;
  }

  /** Not async on purpose: the transactions are cut now, before any later send can join them. */
  save(partitions: readonly PartitionCheckpoint[]): Promise<void> {
    const { transactions, topic } = this.#options;
    const commits = [];
    const committed: [string, { offset: number; operators: string }][] = [];
    for (const checkpoint of partitions) {
      const key = partitionKey(checkpoint.topic, checkpoint.partition);
      const operators = JSON.stringify(checkpoint.operators);
      const last = this.#last.get(key);
      const unchanged = last !== undefined && last.offset === checkpoint.offset && last.operators === operators && checkpoint.state.length === 0 && !checkpoint.full;
      if (unchanged && !transactions.dirty(checkpoint)) continue;
      commits.push({ topic: checkpoint.topic, partition: checkpoint.partition, offset: checkpoint.offset, messages: [{ topic, messages: changelogMessages(checkpoint) }] });
      committed.push([key, { offset: checkpoint.offset, operators }]);
    }
    return transactions.commit(commits).then(
      () => committed.forEach(([key, last]) => this.#last.set(key, last)),
      (error: unknown) => {
        this.#options.onFailure?.(error);
        throw error;
      },
    );
  }

  release(partitions: ReadonlyArray<{ topic: string; partition: number }>): void {
    for (const { topic, partition } of partitions) this.#last.delete(partitionKey(topic, partition));
    this.#options.transactions.release(partitions);
  }

  async close(): Promise<void> {
    await this.#options.restore.close?.();
    await this.#options.transactions.close();
  }
}
