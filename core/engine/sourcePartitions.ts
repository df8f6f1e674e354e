import type { CheckpointCoordinator } from '../checkpoint/coordinator.ts';
import type { CompletionTracker } from '../completion.ts';
import type { InFlightBudget } from '../flowControl.ts';
import type { PartitionRef, SourcePartitionEvents, SourcePartitions } from '../job.ts';

/** What a source's partitions are kept in step with. */
export interface SourcePartitionParts {
  readonly budget: InFlightBudget;
  readonly tracker: CompletionTracker;
  /** The checkpoint coordinator once checkpoints run; undefined without checkpoints. */
  readonly checkpoints: () => CheckpointCoordinator | undefined;
}

/**
 * The engine's side of {@link SourcePartitions}: completion (what is done), checkpoints (what is
 * durable, whose state to restore or drop) and the in-flight budget (when to pause), behind one
 * object that raises events. Without checkpoints, a partition is committable as far as its
 * records are done; with them, as far as the last durable checkpoint reaches.
 *
 * @example
 * const partitions = engineSourcePartitions({ budget, tracker, checkpoints: () => coordinator });
 * await partitions.assign([{ topic: 'tx', partition: 0 }]);
 */
export function engineSourcePartitions(parts: SourcePartitionParts): SourcePartitions {
  const { budget, tracker, checkpoints } = parts;
  return {
    assign: async (partitions) => checkpoints()?.assign(partitions),
    revoke: async (partitions, timeoutMs) => {
      // Their state goes at once: records of them still in flight must not count on it here.
      checkpoints()?.revoke(partitions);
      const drained = await Promise.all(partitions.map(({ topic, partition }) => tracker.whenDrained(topic, partition, timeoutMs)));
      return partitions.flatMap((partition, i) => (drained[i] ? [] : [{ partition, pending: tracker.pending(partition.topic, partition.partition) }]));
    },
    release: (partitions: readonly PartitionRef[]) => {
      for (const { topic, partition } of partitions) tracker.forget(topic, partition);
    },
    committable: (topic, partition) => {
      const coordinator = checkpoints();
      return coordinator === undefined ? tracker.committable(topic, partition) : coordinator.committable(topic, partition);
    },
    maxUncommitted: budget.capacity,
    requestCheckpoint: () => checkpoints()?.request(),
    // Sources run once the job started, after the coordinator restored: it exists by now.
    on: (events: SourcePartitionEvents) => {
      const offBudget = budget.listen({ onFull: events.full, onResume: events.resume });
      const checkpointed = events.checkpointed;
      const offCheckpoints = checkpointed === undefined ? undefined : checkpoints()?.onCheckpointed(checkpointed);
      return () => {
        offBudget();
        offCheckpoints?.();
      };
    },
  };
}
