import type { Admin } from 'kafkajs';
import type { CommittedBy } from '../../../core/checkpoint/partitionStore.ts';

/** What a transaction that the broker left open on a partition must become. */
export type LeftOpenFate = 'abort' | 'commit';

/** The first record of a transaction still open on a partition, and whose it is. */
export interface OpenTransaction {
  readonly topic: string;
  readonly partition: number;
  /** Its first offset: where read_committed readers stop (the partition's last stable offset). */
  readonly offset: string;
  readonly producerId: string;
  readonly producerEpoch: number;
  /** When its first record was written (ms since the epoch, the producer's clock). */
  readonly timestamp: number;
}

/**
 * Whether a transaction of an earlier epoch of this producer id, still open on a partition
 * after the coordinator completed it, had committed or aborted. The coordinator skips the
 * marker of a partition that has no leader at that moment (Kafka 4.x, KAFKA-20734), so its
 * records stay open; the same producer id's next commit would then commit them, right or wrong.
 *
 * The changelog decides: every committed transaction of an input partition holds that
 * partition's checkpoint, written at its commit, after its outputs. So the open records were
 * committed exactly when the last committed checkpoint comes from the same producer epoch and
 * is no older than the open transaction's first record (one process, one clock). A checkpoint
 * of an earlier epoch, or none, means the open transaction never committed: abort it. A
 * checkpoint of a later epoch means a later owner already judged it (and kept it).
 *
 * @example
 * leftOpenFate({ producerEpoch: 0, timestamp: 1_000 }, { producerEpoch: 0, timestamp: 900 }) // 'abort'
 * leftOpenFate({ producerEpoch: 0, timestamp: 1_000 }, { producerEpoch: 0, timestamp: 1_050 }) // 'commit'
 */
export function leftOpenFate(open: { readonly producerEpoch: number; readonly timestamp: number }, lastCommit: CommittedBy | undefined): LeftOpenFate {
  if (lastCommit === undefined || lastCommit.producerEpoch < open.producerEpoch) return 'abort';
  if (lastCommit.producerEpoch > open.producerEpoch) return 'commit';
  return lastCommit.timestamp >= open.timestamp ? 'commit' : 'abort';
}

/**
 * The transactions open on the partitions of `topic` (those `include` keeps): for each, the
 * first record at its last stable offset, read uncommitted (kafkajs patched:
 * `fetchFirstRecords`). A partition whose last stable offset is its high watermark has none.
 *
 * @example
 * await openTransactions(admin, 'fraud-decisions') // [{ topic: 'fraud-decisions', partition: 0, offset: '111', producerId: '3', producerEpoch: 0, … }]
 */
export async function openTransactions(admin: Admin, topic: string, include: (partition: number) => boolean = () => true): Promise<OpenTransaction[]> {
  const stable = (await admin.fetchTopicOffsets(topic)).filter((o) => include(o.partition));
  if (stable.length === 0) return [];
  const heads = await admin.fetchFirstRecords(
    topic,
    stable.map((o) => ({ partition: o.partition, offset: o.offset })),
  );
  const open: OpenTransaction[] = [];
  for (const { partition, highWatermark, lastStableOffset, first } of heads) {
    if (first === null || !first.inTransaction || BigInt(lastStableOffset) >= BigInt(highWatermark)) continue;
    open.push({ topic, partition, offset: first.offset, producerId: first.producerId, producerEpoch: first.producerEpoch, timestamp: Number(first.timestamp) });
  }
  return open.sort((a, b) => a.partition - b.partition);
}
