import TinyQueue from 'tinyqueue';
import { SluiceError } from '../../core/errors.ts';
import type { WatermarkSnapshot, WatermarkTracker } from '../../core/time/watermarkTracker.ts';

/** One buffered record of either side: what a later record of the other side may join. */
export interface JoinEntry<V> {
  readonly scope: string;
  readonly key: string;
  readonly time: number;
  readonly value: V;
}

/** The join's state, JSON-ready: the watermark and the buffered records of both sides. */
export interface IntervalJoinSnapshot<L, R> {
  readonly version: 1;
  readonly watermarks: WatermarkSnapshot;
  readonly left: readonly JoinEntry<L>[];
  readonly right: readonly JoinEntry<R>[];
  /** Whether each side has had a record (absent in older snapshots: taken as both). */
  readonly sides?: { readonly left: boolean; readonly right: boolean };
}

interface Buffers<L, R> {
  left: JoinEntry<L>[];
  right: JoinEntry<R>[];
}

interface Expiry {
  readonly at: number;
  readonly side: 'left' | 'right';
  readonly entry: JoinEntry<unknown>;
}

/**
 * The keyed buffers of an interval join and their expiry, kept outside RxJS so a checkpoint can
 * snapshot them. A left record at time t joins right records of its key at [t + lower, t + upper];
 * records still to come are later than the watermark, so a left entry can go once the watermark
 * reaches t + upper and a right entry once it reaches s - lower.
 *
 * @example
 * const state = new IntervalJoinState<Decision, Label>(0, 48 * 3600_000, watermarks);
 * state.left({ scope: 'tx/0', key: 'tx-1', time: 1000, value: decision }, (l, r) => emit(l, r));
 */
export class IntervalJoinState<L, R> {
  readonly lowerMs: number;
  readonly upperMs: number;
  readonly watermarks: WatermarkTracker;
  readonly #byKey = new Map<string, Buffers<L, R>>();
  /** Min-heap by expiry time; entries already gone (a dropped scope) are skipped when popped. */
  /** Entries by expiry time, earliest first (a priority queue: tinyqueue). */
  #expiry = new TinyQueue<Expiry>([], (a, b) => a.at - b.at);
  #size = 0;
  /** Sides that have had a record: until both have, nothing expires (the other side may be far behind). */
  readonly #seen = { left: false, right: false };

  constructor(lowerMs: number, upperMs: number, watermarks: WatermarkTracker) {
    this.lowerMs = lowerMs;
    this.upperMs = upperMs;
    this.watermarks = watermarks;
  }

  /**
   * The watermark entries expire against: the inputs' minimum, or -Infinity while one side has
   * had no record yet — as in Flink, an input that has said nothing holds event time back, so a
   * label stream that starts first does not expire labels its decisions have not reached.
   */
  get watermark(): number {
    return this.#seen.left && this.#seen.right ? this.watermarks.current : -Infinity;
  }

  /** Records buffered on both sides. */
  get size(): number {
    return this.#size;
  }

  /** Joins a left record with the buffered right ones in its interval; buffers it while it can still match. */
  left(entry: JoinEntry<L>, onPair: (left: JoinEntry<L>, right: JoinEntry<R>) => void): void {
    this.#seen.left = true;
    const buffers = this.#byKey.get(entry.key);
    if (buffers !== undefined) {
      for (const right of buffers.right) {
        if (right.time >= entry.time + this.lowerMs && right.time <= entry.time + this.upperMs) onPair(entry, right);
      }
    }
    this.#buffer('left', entry, entry.time + this.upperMs);
  }

  /** Joins a right record with the buffered left ones whose interval holds it; buffers it while it can still match. */
  right(entry: JoinEntry<R>, onPair: (left: JoinEntry<L>, right: JoinEntry<R>) => void): void {
    this.#seen.right = true;
    const buffers = this.#byKey.get(entry.key);
    if (buffers !== undefined) {
      for (const left of buffers.left) {
        if (entry.time >= left.time + this.lowerMs && entry.time <= left.time + this.upperMs) onPair(left, entry);
      }
    }
    this.#buffer('right', entry, entry.time - this.lowerMs);
  }

  /**
   * A record of the partition with this event time was handled: moves the watermark (once both
   * sides have had a record, so one input cannot raise it before the other has said anything —
   * the tracker's watermark never goes back) and drops what expired. Returns how many went.
   */
  observe(scope: string, time: number): number {
    this.watermarks.observe(scope, time);
    return this.advance();
  }

  /** Recomputes the watermark (processing time moved: a partition may be idle now) and drops what expired. */
  advance(): number {
    if (!(this.#seen.left && this.#seen.right)) return 0;
    this.watermarks.advance();
    return this.expire();
  }

  /** Drops every entry no future record can match, after the watermark moved. Returns how many went. */
  expire(): number {
    const watermark = this.watermark;
    let dropped = 0;
    while (this.#expiry.length > 0 && this.#expiry.peek()!.at <= watermark) {
      const { side, entry } = this.#expiry.pop()!;
      if (this.#remove(side, entry)) dropped++;
    }
    return dropped;
  }

  snapshot(scopes?: Iterable<string>): IntervalJoinSnapshot<L, R> {
    const wanted = scopes === undefined ? undefined : new Set(scopes);
    const left: JoinEntry<L>[] = [];
    const right: JoinEntry<R>[] = [];
    for (const buffers of this.#byKey.values()) {
      for (const entry of buffers.left) if (wanted === undefined || wanted.has(entry.scope)) left.push(entry);
      for (const entry of buffers.right) if (wanted === undefined || wanted.has(entry.scope)) right.push(entry);
    }
    return { version: 1, watermarks: this.watermarks.snapshot(wanted), left, right, sides: { ...this.#seen } };
  }

  /** Puts a snapshot back, replacing the scopes it holds. */
  restore(snapshot: IntervalJoinSnapshot<L, R>): void {
    if (snapshot.version !== 1) throw new SluiceError(`interval join snapshot version ${String(snapshot.version)} is not supported (expected 1)`);
    const scopes = new Set([...snapshot.left, ...snapshot.right].map((entry) => entry.scope));
    for (const scope of scopes) this.dropScope(scope);
    this.watermarks.restore(snapshot.watermarks);
    this.#seen.left ||= snapshot.sides?.left ?? true;
    this.#seen.right ||= snapshot.sides?.right ?? true;
    for (const entry of snapshot.left) this.#buffer('left', entry, entry.time + this.upperMs);
    for (const entry of snapshot.right) this.#buffer('right', entry, entry.time - this.lowerMs);
  }

  /** Forgets a partition's entries (it moved to another process). */
  dropScope(scope: string): void {
    for (const [key, buffers] of this.#byKey) {
      const left = buffers.left.filter((entry) => entry.scope !== scope);
      const right = buffers.right.filter((entry) => entry.scope !== scope);
      this.#size -= buffers.left.length - left.length + buffers.right.length - right.length;
      if (left.length === 0 && right.length === 0) this.#byKey.delete(key);
      else this.#byKey.set(key, { left, right });
    }
    this.watermarks.drop(scope);
  }

  clear(): void {
    this.#byKey.clear();
    this.#expiry = new TinyQueue<Expiry>([], (a, b) => a.at - b.at);
    this.#size = 0;
  }

  #buffer(side: 'left' | 'right', entry: JoinEntry<unknown>, expiresAt: number): void {
    // Nothing still to come can match it: its effect (the pairs just made) is all there is.
    if (expiresAt <= this.watermark) return;
    let buffers = this.#byKey.get(entry.key);
    if (buffers === undefined) {
      buffers = { left: [], right: [] };
      this.#byKey.set(entry.key, buffers);
    }
    (buffers[side] as JoinEntry<unknown>[]).push(entry);
    this.#size++;
    this.#expiry.push({ at: expiresAt, side, entry });
  }

  #remove(side: 'left' | 'right', entry: JoinEntry<unknown>): boolean {
    const buffers = this.#byKey.get(entry.key);
    if (buffers === undefined) return false;
    const list = buffers[side] as JoinEntry<unknown>[];
    const index = list.indexOf(entry);
    if (index < 0) return false;
    list.splice(index, 1);
    this.#size--;
    if (buffers.left.length === 0 && buffers.right.length === 0) this.#byKey.delete(entry.key);
    return true;
  }
}
