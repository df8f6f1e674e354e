import type { SchedulerLike } from 'rxjs';
import type { CheckpointStore, Snapshottable } from './checkpoint.ts';
import type { PartitionCheckpointStore } from './partitionStore.ts';

/**
 * How often and where a job checkpoints: a whole-job store (files on local disk), or a store
 * per source partition (a Kafka changelog) so state can follow its partition to another process.
 */
export interface CheckpointOptions {
  readonly store: CheckpointStore | PartitionCheckpointStore;
  readonly intervalMs: number;
  /**
   * Longest a checkpoint may wait for the records in flight to finish (Flink's checkpoint
   * timeout). Past it the job fails with the partitions still waiting: a record stuck that long
   * holds every input still, and only a restart from the last checkpoint moves on. Default none.
   */
  readonly timeoutMs?: number;
  /** Where restore and failure lines go; stderr by default. */
  readonly log?: (line: string) => void;
  /** The job's scheduler, when its timers run in virtual time (the test driver); a real interval otherwise. */
  readonly scheduler?: SchedulerLike;
}

/** A stateful operator the checkpoint covers; `quiescent` says it holds no unwritten output. */
export interface CheckpointPart extends Snapshottable {
  quiescent?(): boolean;
  /** Forgets a partition's scope (the partition moved to another process). */
  dropScope?(scope: string): void;
}
