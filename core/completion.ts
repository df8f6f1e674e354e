import type { SourcePosition } from './record.ts';
import { partitionKey } from './partition.ts';

/**
 * A record's completion handle. A record fans out into `retain()`ed copies (or is merely
 * passed along); it is done when every holder has called `release()`. Released twice is a bug
 * in an operator, so it throws instead of silently over-counting.
 */
export interface Ticket {
  retain(count?: number): void;
  release(): void;
  readonly done: boolean;
}

/**
 * Tracks, per partition, which offsets are fully done and which offset is safe to commit.
 * A position counts as done only when every earlier record of its partition is done too, so a
 * fast later record can never cover a slow earlier one (the at-least-once rule).
 *
 * @example
 * const tracker = new CompletionTracker();
 * const a = tracker.track({ topic: 't', partition: 0, offset: 5 });
 * const b = tracker.track({ topic: 't', partition: 0, offset: 6 });
 * b.release();
 * tracker.committable('t', 0); // undefined: 5 is still open
 * a.release();
 * tracker.committable('t', 0); // 6
 */
export class CompletionTracker {
  readonly #partitions = new Map<string, PartitionProgress>();
  readonly #onDone: (position: SourcePosition) => void;

  constructor(onDone: (position: SourcePosition) => void = () => {}) {
    this.#onDone = onDone;
  }

  /** Starts tracking a record. Offsets of one partition must be tracked in increasing order. */
  track(position: SourcePosition): Ticket {
    const key = partitionKey(position.topic, position.partition);
    let progress = this.#partitions.get(key);
    if (progress === undefined) {
      progress = new PartitionProgress(position.topic, position.partition);
      this.#partitions.set(key, progress);
    }
    return progress.open(position, this.#onDone);
  }

  /** The highest offset of the partition whose record and all earlier ones are done. */
  committable(topic: string, partition: number): number | undefined {
    return this.#partitions.get(partitionKey(topic, partition))?.committable;
  }

  /** Records of the partition still open. */
  pending(topic: string, partition: number): number {
    return this.#partitions.get(partitionKey(topic, partition))?.pending ?? 0;
  }

  /**
   * Resolves true once no record of the partition is open, or false after `timeoutMs`: a source
   * awaits it before committing a revoked partition. Event-driven, no polling.
   */
  whenDrained(topic: string, partition: number, timeoutMs: number): Promise<boolean> {
    const progress = this.#partitions.get(partitionKey(topic, partition));
    if (progress === undefined || progress.pending === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        progress.drainWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      progress.drainWaiters.add(done);
    });
  }

  /** Records open across all partitions. */
  get totalPending(): number {
    let total = 0;
    for (const progress of this.#partitions.values()) total += progress.pending;
    return total;
  }

  /** The partitions with records open and how many, e.g. `tx[0]: 3, tx[2]: 1` ('' when none): for the errors that say so. */
  describeOpen(): string {
    return [...this.partitions()].filter((p) => p.pending > 0).map((p) => `${p.topic}[${p.partition}]: ${p.pending}`).join(', ');
  }

  /** Every partition seen, with its committable offset. */
  *partitions(): IterableIterator<{ topic: string; partition: number; committable: number | undefined; pending: number }> {
    for (const progress of this.#partitions.values()) {
      yield {
        topic: progress.topic,
        partition: progress.partition,
        committable: progress.committable,
        pending: progress.pending,
      };
    }
  }

  /** Forgets a partition (after it was revoked and its last offset committed). */
  forget(topic: string, partition: number): void {
    this.#partitions.delete(partitionKey(topic, partition));
  }
}

/** Open offsets of one partition in arrival order, as a queue whose head moves when done. */
class PartitionProgress {
  readonly topic: string;
  readonly partition: number;
  committable: number | undefined = undefined;
  pending = 0;
  #offsets: number[] = [];
  #finished: boolean[] = [];
  #head = 0;
  /** Absolute index of `#offsets[0]` (the arrays are compacted from the front). */
  #base = 0;
  #lastOffset: number | undefined = undefined;
  /** Called once when `pending` reaches 0. */
  readonly drainWaiters = new Set<() => void>();

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  open(position: SourcePosition, onDone: (position: SourcePosition) => void): Ticket {
    const last = this.#lastOffset;
    if (last !== undefined && position.offset <= last) {
      throw new RangeError(
        `offset ${position.offset} of ${position.topic}[${position.partition}] arrived after ${last}: sources must emit a partition's offsets in increasing order`,
      );
    }
    this.#lastOffset = position.offset;
    const slot = this.#base + this.#offsets.length;
    this.#offsets.push(position.offset);
    this.#finished.push(false);
    this.pending += 1;
    return new PartitionTicket(this, slot, position, onDone);
  }

  /** Called by a ticket once its last holder released it. */
  finish(slot: number): void {
    this.#finished[slot - this.#base] = true;
    this.pending -= 1;
    if (this.pending === 0 && this.drainWaiters.size > 0) {
      for (const waiter of this.drainWaiters) waiter();
      this.drainWaiters.clear();
    }
    while (this.#head < this.#offsets.length && this.#finished[this.#head]) {
      this.committable = this.#offsets[this.#head];
      this.#head += 1;
    }
    // Compact now and then so the arrays do not grow for ever.
    if (this.#head > 4096 && this.#head * 2 > this.#offsets.length) {
      this.#offsets = this.#offsets.slice(this.#head);
      this.#finished = this.#finished.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
  }

}

/**
 * One record's ticket: a class rather than an object of closures, since one is made per record
 * (no per-record closures to allocate, and none to name under the tsx/esbuild transform).
 */
class PartitionTicket implements Ticket {
  #holders = 1;
  readonly #progress: PartitionProgress;
  readonly #slot: number;
  readonly #position: SourcePosition;
  readonly #onDone: (position: SourcePosition) => void;

  constructor(progress: PartitionProgress, slot: number, position: SourcePosition, onDone: (position: SourcePosition) => void) {
    this.#progress = progress;
    this.#slot = slot;
    this.#position = position;
    this.#onDone = onDone;
  }

  retain(count = 1): void {
    if (this.#holders <= 0) throw new Error('retain() on a ticket that is already done');
    this.#holders += count;
  }

  release(): void {
    if (this.#holders <= 0) {
      const position = this.#position;
      throw new Error(`ticket of ${position.topic}[${position.partition}]@${position.offset} released twice`);
    }
    this.#holders -= 1;
    if (this.#holders === 0) {
      this.#progress.finish(this.#slot);
      this.#onDone(this.#position);
    }
  }

  get done(): boolean {
    return this.#holders === 0;
  }
}
