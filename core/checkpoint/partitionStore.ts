import type { StateEntry } from '../state/backend.ts';
import type { CheckpointStore } from './checkpoint.ts';

/** One partition's part of a checkpoint: what changed in its state since the last one. */
export interface PartitionCheckpoint {
  readonly topic: string;
  readonly partition: number;
  /** The last offset of the partition whose effect the state includes. */
  readonly offset: number;
  /** True when `state` is the whole scope, replacing whatever was stored before. */
  readonly full: boolean;
  /** Changed keyed-state entries; an undefined entry was deleted. */
  readonly state: ReadonlyArray<readonly [name: string, key: string, entry: StateEntry | undefined]>;
  /** Operator snapshots of this partition's scope, by operator name. */
  readonly operators: Readonly<Record<string, unknown>>;
}

/** A partition's state as restored from the store. */
export interface RestoredPartition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly state: ReadonlyArray<readonly [name: string, key: string, entry: StateEntry]>;
  readonly operators: Readonly<Record<string, unknown>>;
  /**
   * Where the store knows it (a Kafka changelog): the producer epoch and the time of the write
   * that committed this checkpoint. Exactly-once uses it to judge a transaction that the broker
   * left open (see PartitionTransactions.closeLeftOpen).
   */
  readonly committedBy?: CommittedBy;
}

/** The producer epoch and time (ms since the epoch) of a transactional write. */
export interface CommittedBy {
  readonly producerEpoch: number;
  readonly timestamp: number;
}

/**
 * Checkpoints kept per source partition, so that whichever process owns a partition next can
 * rebuild its state (a Kafka changelog topic, as Kafka Streams keeps one). A save is all or
 * nothing per partition: a partition's changes count only once its offset is stored with them.
 */
export interface PartitionCheckpointStore {
  /** Stores the partitions' changes durably; resolves once they would survive a crash. */
  save(partitions: readonly PartitionCheckpoint[]): Promise<void>;
  /** The newest complete state of each partition asked for; partitions never saved are left out. */
  load(partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<RestoredPartition[]>;
  /** These partitions went to another process (a store that holds resources per partition lets them go). */
  release?(partitions: ReadonlyArray<{ topic: string; partition: number }>): void;
  close?(): Promise<void>;
}

/**
 * True for a store that keeps each partition's state apart (a changelog), as opposed to one
 * checkpoint of the whole job (a file).
 *
 * @example
 * if (isPartitionStore(store)) await store.load(partitions);
 */
export function isPartitionStore(store: CheckpointStore | PartitionCheckpointStore): store is PartitionCheckpointStore {
  return 'load' in store;
}
