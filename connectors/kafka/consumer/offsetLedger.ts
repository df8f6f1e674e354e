import { partitionKey } from '../../../core/partition.ts';

/** One partition's positions, as the source sees them. */
interface PartitionPositions {
  readonly topic: string;
  readonly partition: number;
  /** The last offset handed to the job; -1 before the first. */
  lastEmitted: number;
  /** The next offset the group has committed (or the first one fetched): nothing below is ours to redo. */
  committed: number | undefined;
  /** The partition's high watermark at the last fetch. */
  highWatermark: number | undefined;
  /** Where the consumer stands past records it never hands out (transaction markers, aborted records). */
  position: number;
}

/** What the ledger reads of a kafkajs batch: its records' offsets and where it ends (control records included). */
export interface FetchedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly { readonly offset: string }[];
  firstOffset(): string | null;
  lastOffset(): string;
}

/** An offset to commit, in Kafka's sense: the next record to read. */
export interface OffsetCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/**
 * What a Kafka source has taken from each assigned partition and what it may commit. Commits
 * come only from the engine's completion tracking (`committable`, the highest offset whose record
 * and every earlier one are done), as `committable + 1`; the ledger never moves a commit
 * backwards nor past what it handed out. It also refuses offsets it already handed out, which
 * is how a partition re-fetched from its committed offset after a rebalance or a consumer
 * restart does not enter the job twice.
 *
 * @example
 * const ledger = new OffsetLedger();
 * ledger.assign([{ topic: 't', partitions: [0] }]);
 * ledger.accept('t', 0, 10); // true: hand it to the job
 * ledger.due(() => 10);      // [{ topic: 't', partition: 0, offset: 11 }]
 */
export class OffsetLedger {
  readonly #partitions = new Map<string, PartitionPositions>();
  /** Sum of {@link share} over the partitions, kept up to date on every change. */
  #uncommitted = 0;

  /** Partitions currently assigned. */
  *assigned(): IterableIterator<{ topic: string; partition: number }> {
    for (const p of this.#partitions.values()) yield { topic: p.topic, partition: p.partition };
  }

  has(topic: string, partition: number): boolean {
    return this.#partitions.has(partitionKey(topic, partition));
  }

  /**
   * Takes a new assignment. Returns the partitions that were revoked (assigned before, not now),
   * those kept (their positions survive) and those added.
   */
  assign(assignment: readonly { topic: string; partitions: readonly number[] }[]): {
    revoked: { topic: string; partition: number }[];
    kept: { topic: string; partition: number; next: number }[];
    added: { topic: string; partition: number }[];
  } {
    const next = new Set<string>();
    const added: { topic: string; partition: number }[] = [];
    const kept: { topic: string; partition: number; next: number }[] = [];
    for (const { topic, partitions } of assignment) {
      for (const partition of partitions) {
        const k = partitionKey(topic, partition);
        next.add(k);
        const existing = this.#partitions.get(k);
        if (existing === undefined) {
          this.#partitions.set(k, { topic, partition, lastEmitted: -1, committed: undefined, highWatermark: undefined, position: -1 });
          added.push({ topic, partition });
        } else if (existing.lastEmitted >= 0) {
          kept.push({ topic, partition, next: existing.lastEmitted + 1 });
        }
      }
    }
    const revoked: { topic: string; partition: number }[] = [];
    for (const [k, p] of this.#partitions) if (!next.has(k)) revoked.push({ topic: p.topic, partition: p.partition });
    return { revoked, kept, added };
  }

  /** Forgets a partition (revoked, its last commit attempted). */
  remove(topic: string, partition: number): void {
    const k = partitionKey(topic, partition);
    const p = this.#partitions.get(k);
    if (p === undefined) return;
    this.#uncommitted -= share(p);
    this.#partitions.delete(k);
  }

  /**
   * Whether `offset` should enter the job: false for a partition not assigned here, or for an
   * offset at or below the last one already handed out.
   */
  accept(topic: string, partition: number, offset: number): boolean {
    const p = this.#partitions.get(partitionKey(topic, partition));
    return p !== undefined && offset > p.lastEmitted;
  }

  /** Records that `offset` was handed to the job (after {@link accept} said yes). */
  emitted(topic: string, partition: number, offset: number): void {
    const p = this.#partitions.get(partitionKey(topic, partition));
    if (p === undefined) return;
    this.#uncommitted -= share(p);
    p.committed ??= offset;
    p.lastEmitted = offset;
    this.#uncommitted += share(p);
  }

  /** The last offset handed out for a partition, or undefined before the first. */
  lastEmitted(topic: string, partition: number): number | undefined {
    const p = this.#partitions.get(partitionKey(topic, partition));
    return p === undefined || p.lastEmitted < 0 ? undefined : p.lastEmitted;
  }

  /** Remembers a partition's high watermark (from a fetch or the broker); an older one never wins. */
  observeHighWatermark(topic: string, partition: number, highWatermark: number): void {
    const p = this.#partitions.get(partitionKey(topic, partition));
    if (p !== undefined && Number.isFinite(highWatermark) && highWatermark > (p.highWatermark ?? -1)) p.highWatermark = highWatermark;
  }

  /**
   * The consumer read up to `next` without anything to hand out: a fetch held only transaction
   * markers or aborted records. Without this a topic written in transactions ends in a marker
   * and its lag never reaches 0.
   */
  observePosition(topic: string, partition: number, next: number): void {
    const p = this.#partitions.get(partitionKey(topic, partition));
    if (p !== undefined && Number.isFinite(next) && next > p.position) p.position = next;
  }

  /**
   * After a fetched batch: the offset the consumer resumes after, which is the last record
   * handed out, not the batch's end (a batch cut short is fetched again from there). When every
   * record was handed out, the consumer also stands past the batch's end: transaction markers
   * after its last record count as read.
   */
  afterBatch(batch: FetchedBatch): number | undefined {
    const { topic, partition } = batch;
    const last = this.lastEmitted(topic, partition);
    if (last === undefined) return undefined;
    if (last >= Number(batch.messages.at(-1)?.offset ?? Infinity)) this.observePosition(topic, partition, Number(batch.lastOffset()) + 1);
    return last >= Number(batch.firstOffset() ?? -1) ? last : undefined;
  }

  /** Consumer lag: records at or after the next offset to hand out, up to the high watermark. */
  lag(topic: string, partition: number): number | undefined {
    const p = this.#partitions.get(partitionKey(topic, partition));
    if (p === undefined || p.highWatermark === undefined) return undefined;
    const next = Math.max(p.lastEmitted >= 0 ? p.lastEmitted + 1 : (p.committed ?? 0), p.position);
    return Math.max(0, p.highWatermark - next);
  }

  /**
   * Records handed out but not covered by a commit, over all partitions (an upper bound when
   * offsets have gaps). After a crash these are what may be processed twice.
   */
  uncommitted(): number {
    return this.#uncommitted;
  }

  /**
   * The commits that would move the group forward, from the engine's `committable` offsets:
   * `committable + 1` where that is beyond the last commit, never past what was handed out.
   * `only` restricts them to some partitions.
   */
  due(committable: (topic: string, partition: number) => number | undefined, only?: (topic: string, partition: number) => boolean): OffsetCommit[] {
    const commits: OffsetCommit[] = [];
    for (const p of this.#partitions.values()) {
      if (only !== undefined && !only(p.topic, p.partition)) continue;
      const done = committable(p.topic, p.partition);
      if (done === undefined || p.lastEmitted < 0) continue;
      const next = Math.min(done, p.lastEmitted) + 1;
      if (p.committed !== undefined && next <= p.committed) continue;
      commits.push({ topic: p.topic, partition: p.partition, offset: next });
    }
    return commits;
  }

  /** Records that the broker accepted `commits`. */
  committed(commits: readonly OffsetCommit[]): void {
    for (const c of commits) {
      const p = this.#partitions.get(partitionKey(c.topic, c.partition));
      if (p === undefined || (p.committed !== undefined && c.offset <= p.committed)) continue;
      this.#uncommitted -= share(p);
      p.committed = c.offset;
      this.#uncommitted += share(p);
    }
  }
}

/** A partition's records handed out and not covered by a commit. */
function share(p: PartitionPositions): number {
  if (p.lastEmitted < 0 || p.committed === undefined) return 0;
  return Math.max(0, p.lastEmitted + 1 - p.committed);
}
