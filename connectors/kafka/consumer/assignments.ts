import type { Consumer } from 'kafkajs';
import { ConnectorError, describeError } from '../../../core/errors.ts';
import type { Instrumentation } from '../../../core/instrumentation.ts';
import type { PartitionRef, SourcePartitions } from '../../../core/job.ts';
import { partitionKey } from '../../../core/partition.ts';
import { describeKafkaError } from '../errors.ts';
import type { OffsetCommitter } from './offsetCommitter.ts';
import type { OffsetLedger } from './offsetLedger.ts';

/** What {@link GroupAssignments} works with: the source's parts and the engine's partitions. */
export interface AssignmentParts {
  readonly groupId: string;
  readonly ledger: OffsetLedger;
  readonly committer: OffsetCommitter;
  readonly partitions: SourcePartitions;
  readonly instrumentation: Instrumentation;
  readonly consumer: () => Consumer | undefined;
  /** How long a revocation waits for the records of revoked partitions. */
  readonly revokeTimeoutMs: number;
  readonly log: (line: string) => void;
  /** Something changed that a batch waiting for room must re-check. */
  readonly wake: () => void;
  /** A consumer restarted after a crash has forgotten that it was paused. */
  readonly reapplyPause: () => void;
  /** Restoring a partition's state failed: the source must stop with this error. */
  readonly fail: (error: Error) => void;
}

/**
 * A Kafka source's side of group membership: on each new assignment it keeps the positions of
 * kept partitions, has the engine restore the state of added ones (their batches wait for it),
 * and hands revoked ones back — after a bounded wait for their records in flight and a commit
 * of what is done.
 *
 * @example
 * const assignments = new GroupAssignments(parts);
 * consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => assignments.assigned(payload.memberAssignment));
 */
export class GroupAssignments {
  readonly #parts: AssignmentParts;
  #current = new Set<string>();
  readonly #revocations = new Set<Promise<void>>();
  /** Partitions whose state the engine is restoring before their records may flow. */
  readonly #restoring = new Map<string, Promise<void>>();

  constructor(parts: AssignmentParts) {
    this.#parts = parts;
  }

  /** A new assignment after a (re)join. */
  assigned(memberAssignment: Record<string, number[]>): void {
    const { ledger, consumer, instrumentation, log, groupId } = this.#parts;
    const assignment = Object.entries(memberAssignment).map(([topic, list]) => ({ topic, partitions: list }));
    this.#current = new Set(assignment.flatMap(({ topic, partitions: list }) => list.map((partition) => partitionKey(topic, partition))));
    const { revoked, kept, added } = ledger.assign(assignment);
    // Kept partitions would be fetched again from their committed offset; skip to what is next.
    for (const { topic, partition, next } of kept) {
      try {
        consumer()?.seek({ topic, partition, offset: String(next) });
      } catch {
        // The ledger refuses the re-fetched offsets anyway.
      }
    }
    this.#parts.reapplyPause();
    instrumentation.emit('source.rebalance', { assigned: this.#current.size, revoked: revoked.length });
    log(`group ${groupId}: assigned ${describe(assignment)}` + (revoked.length > 0 ? `; revoked ${revoked.map((r) => `${r.topic}[${r.partition}]`).join(' ')}` : ''));
    if (revoked.length > 0) {
      this.#parts.wake();
      const task = this.#revoke(revoked).finally(() => this.#revocations.delete(task));
      this.#revocations.add(task);
    }
    if (added.length > 0) this.#restore(added);
  }

  /** The state restore a partition's records must wait for, if one is under way. */
  restoring(topic: string, partition: number): Promise<void> | undefined {
    return this.#restoring.get(partitionKey(topic, partition));
  }

  /** Revocations still committing (awaited before the final commit). */
  settled(): Promise<unknown> {
    return Promise.all(this.#revocations);
  }

  #isCurrent(topic: string, partition: number): boolean {
    return this.#current.has(partitionKey(topic, partition));
  }

  /**
   * Revoked partitions: wait (bounded) for their records in flight, commit what is done, then
   * release them. Records still open after the wait are abandoned deliberately: the new owner
   * starts from the commit and redoes them (at least once); their late completion is harmless.
   */
  async #revoke(revoked: PartitionRef[]): Promise<void> {
    const { partitions, ledger, committer, log, revokeTimeoutMs } = this.#parts;
    const open = await partitions.revoke(revoked, revokeTimeoutMs);
    const keys = new Set(revoked.map(({ topic, partition }) => partitionKey(topic, partition)));
    await committer.commitNow(ledger.due(partitions.committable, (topic, partition) => keys.has(partitionKey(topic, partition)))).catch((error: unknown) => {
      log(`could not commit revoked partitions (${describeKafkaError(error)}); their new owner may repeat some records`);
    });
    if (open.length > 0) {
      log(`revoked partitions still had records in flight after ${revokeTimeoutMs} ms (${open.map((o) => `${o.partition.topic}[${o.partition.partition}]: ${o.pending}`).join(', ')}); their new owner repeats them`);
    }
    const gone = revoked.filter(({ topic, partition }) => !this.#isCurrent(topic, partition)); // not given back meanwhile
    for (const { topic, partition } of gone) ledger.remove(topic, partition);
    partitions.release(gone);
    this.#parts.wake();
  }

  #restore(added: PartitionRef[]): void {
    const restoring = this.#parts.partitions.assign(added);
    const keys = added.map(({ topic, partition }) => partitionKey(topic, partition));
    for (const key of keys) this.#restoring.set(key, restoring);
    restoring.then(
      () => keys.forEach((key) => this.#restoring.get(key) === restoring && this.#restoring.delete(key)),
      (error: unknown) => {
        const names = added.map(({ topic, partition }) => `${topic}[${partition}]`).join(' ');
        this.#parts.fail(new ConnectorError(`could not restore the state of ${names}: ${describeError(error)}`, { cause: error }));
      },
    );
  }
}

function describe(list: { topic: string; partitions: number[] }[]): string {
  return list.length === 0 ? 'nothing' : list.map((a) => `${a.topic}[${[...a.partitions].sort((x, y) => x - y).join(',')}]`).join(' ');
}
