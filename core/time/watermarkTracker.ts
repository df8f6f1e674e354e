import type { Snapshottable } from '../checkpoint/checkpoint.ts';
import type { Clock } from '../clock.ts';
import { requireNonNegativeNumber } from '../errors.ts';
import { BoundedOutOfOrderness } from './boundedOutOfOrderness.ts';
import { Idleness } from './idleness.ts';

export interface WatermarkOptions {
  /** How far behind the newest event time of its partition a record may arrive and still be on time. */
  maxOutOfOrdernessMs: number;
  /** A partition with no record for this long (processing time) stops holding the watermark back. Never, when absent. */
  idleTimeoutMs?: number | undefined;
  /** Processing time, for idleness. */
  clock: Clock;
}

/** A JSON-ready copy of a tracker: its watermark and each partition's newest event time. */
export interface WatermarkSnapshot {
  /** The job's watermark; `null` before there is one. */
  watermark: number | null;
  partitions: Record<string, { maxTimestamp: number | null }>;
}

/** One partition: its own watermark and its idleness. */
interface PartitionClock {
  readonly watermarks: BoundedOutOfOrderness;
  readonly idleness: Idleness | undefined;
}

/**
 * The job's event-time watermark over several source partitions: each partition keeps its own
 * bounded-out-of-orderness watermark, and the job's is the minimum over the active ones, so a
 * partition that lags behind holds windows open until its records have arrived. A partition idle
 * for `idleTimeoutMs` is left out; when all are idle the watermark moves to the highest one (as
 * Flink does). The watermark never goes back: a partition that wakes up behind it sees its
 * records as late.
 *
 * Partitions are named by scope strings — the same `topic/partition` scopes keyed state uses.
 *
 * @example
 * const tracker = new WatermarkTracker({ maxOutOfOrdernessMs: 5_000, idleTimeoutMs: 30_000, clock });
 * tracker.observe('tx/0', 100_000);
 * tracker.observe('tx/1', 70_000);
 * tracker.advance(); // 64_999: partition 1 holds it back
 */
export class WatermarkTracker implements Snapshottable<WatermarkSnapshot> {
  readonly maxOutOfOrdernessMs: number;
  readonly idleTimeoutMs: number | undefined;
  /** Processing time, for idleness (and for the timers of whoever drives the tracker). */
  readonly clock: Clock;
  readonly #partitions = new Map<string, PartitionClock>();
  #current = -Infinity;

  constructor(options: WatermarkOptions) {
    this.maxOutOfOrdernessMs = requireNonNegativeNumber('maxOutOfOrdernessMs', options.maxOutOfOrdernessMs);
    this.idleTimeoutMs = options.idleTimeoutMs === undefined ? undefined : requireNonNegativeNumber('idleTimeoutMs', options.idleTimeoutMs);
    this.clock = options.clock;
  }

  /**
   * Declares a partition before its first record (on assignment), so it holds the watermark
   * back from the start instead of only once it has produced.
   */
  register(scope: string): void {
    this.#partition(scope);
  }

  /** A record of the partition with this event time arrived. Call {@link advance} to move the watermark. */
  observe(scope: string, timestamp: number): void {
    const partition = this.#partition(scope);
    partition.watermarks.observe(timestamp);
    partition.idleness?.touch();
  }

  /** The job's watermark as of the last {@link advance}; -Infinity before there is one. */
  get current(): number {
    return this.#current;
  }

  /** Recomputes the watermark from the partitions (and the clock, for idleness); never moves back. */
  advance(): number {
    let activeMin = Infinity;
    let anyActive = false;
    let highest = -Infinity;
    for (const partition of this.#partitions.values()) {
      const watermark = partition.watermarks.watermark;
      if (watermark > highest) highest = watermark;
      if (partition.idleness?.isIdle() === true) continue;
      anyActive = true;
      if (watermark < activeMin) activeMin = watermark;
    }
    const candidate = anyActive ? activeMin : highest;
    if (candidate > this.#current) this.#current = candidate;
    return this.#current;
  }

  /** The processing time at which the next active partition would turn idle, if any can. */
  nextIdleAt(): number | undefined {
    let next: number | undefined;
    for (const partition of this.#partitions.values()) {
      const idleness = partition.idleness;
      if (idleness === undefined || idleness.isIdle()) continue;
      if (next === undefined || idleness.idleAt < next) next = idleness.idleAt;
    }
    return next;
  }

  /** Each partition's watermark and whether it is idle right now. */
  partitions(): Array<{ scope: string; watermark: number; idle: boolean }> {
    return [...this.#partitions].map(([scope, p]) => ({ scope, watermark: p.watermarks.watermark, idle: p.idleness?.isIdle() === true }));
  }

  /** Forgets a partition (it moved to another process). */
  drop(scope: string): void {
    this.#partitions.delete(scope);
  }

  /** The watermark and the given partitions (all by default), JSON-ready. */
  snapshot(scopes: Iterable<string> = this.#partitions.keys()): WatermarkSnapshot {
    const partitions: WatermarkSnapshot['partitions'] = {};
    for (const scope of [...scopes]) {
      const partition = this.#partitions.get(scope);
      if (partition !== undefined) partitions[scope] = partition.watermarks.snapshot();
    }
    return { watermark: Number.isFinite(this.#current) ? this.#current : null, partitions };
  }

  /**
   * Puts partitions back (they count as active from now) and raises the watermark to the
   * snapshot's if it is higher; restoring into a fresh tracker gives the snapshot's watermark.
   */
  restore(snapshot: WatermarkSnapshot): void {
    for (const [scope, state] of Object.entries(snapshot.partitions)) {
      this.#partitions.delete(scope);
      this.#partition(scope).watermarks.restore(state);
    }
    const watermark = snapshot.watermark ?? -Infinity;
    if (watermark > this.#current) this.#current = watermark;
  }

  #partition(scope: string): PartitionClock {
    let partition = this.#partitions.get(scope);
    if (partition === undefined) {
      partition = {
        watermarks: new BoundedOutOfOrderness(this.maxOutOfOrdernessMs),
        idleness: this.idleTimeoutMs === undefined ? undefined : new Idleness(this.idleTimeoutMs, this.clock),
      };
      this.#partitions.set(scope, partition);
    }
    return partition;
  }
}
