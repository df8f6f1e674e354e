/**
 * Writes feature rows to Redis: the newest row per entity, one `MSET` of packed rows (encode.ts)
 * per chunk of 500. When Redis is down it keeps a bounded buffer (only the newest row per entity, at most
 * `maxPending` entities) and retries with exponential backoff, so it catches up when Redis returns.
 *
 * Per event it only points its entity's slot at the row (no copy, no key text; the order of
 * the buffer is kept up to date only while Redis is failing, when it decides what is dropped);
 * per write it encodes each changed slot once.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../../core/clock.ts';
import type { FeatureRow } from '../../core/features/index.ts';
import { encodeRow, entityKey } from './encode.ts';
import { withTimeout } from './client.ts';

/** Options of {@link Materializer}. */
export interface MaterializerOptions {
  clock: Clock;
  commandTimeoutMs: number;
  /** Entities buffered while Redis is down; beyond it the oldest buffered entity is dropped. Default 100,000. */
  maxPending?: number;
  /** First retry delay, doubled per failure up to `maxBackoffMs`. Defaults 50 and 2000 ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Counters of the materializer. */
export interface MaterializeStats {
  rowsWritten: number;
  batchesWritten: number;
  failedBatches: number;
  /** Rows replaced in the buffer by a newer row of the same entity before being written. */
  rowsSuperseded: number;
  /** Entities dropped because the buffer was full (their newest value never reached Redis). */
  rowsDropped: number;
  pending: number;
}

/** Rows per MSET of a write. */
const WRITE_CHUNK = 500;

/** One entity's newest row, reused across writes. */
interface Slot {
  readonly view: ViewSlots;
  readonly key: string;
  row: FeatureRow;
}

/** The slots of one view. */
interface ViewSlots {
  readonly name: string;
  readonly slots: Map<string, Slot>;
}

/**
 * The write side of the online store.
 *
 * @example
 * const m = new Materializer(client, { clock: systemClock, commandTimeoutMs: 250 });
 * await m.materialize(rows); // written, or buffered and retried in the background
 * await m.flush();           // true once nothing is pending
 */
export class Materializer {
  readonly #client: Redis;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #maxPending: number;
  readonly #minBackoff: number;
  readonly #maxBackoff: number;
  readonly #views = new Map<string, ViewSlots>();
  /** Slots changed since their last write, least recently updated first. */
  #dirty = new Set<Slot>();
  /** The slots of the write in flight (their newest values are what a checkpoint must keep). */
  #inFlight: Slot[] = [];
  #slotCount = 0;
  #writing: Promise<boolean> | undefined;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #stats = { rowsWritten: 0, batchesWritten: 0, failedBatches: 0, rowsSuperseded: 0, rowsDropped: 0 };

  constructor(client: Redis, options: MaterializerOptions) {
    this.#client = client;
    this.#clock = options.clock;
    this.#timeoutMs = options.commandTimeoutMs;
    this.#maxPending = options.maxPending ?? 100_000;
    this.#minBackoff = options.minBackoffMs ?? 50;
    this.#maxBackoff = options.maxBackoffMs ?? 2000;
  }

  /**
   * Buffers `rows` (newest per entity) and writes them unless a retry is already scheduled.
   * Resolves true when everything buffered is in Redis; never rejects because Redis is down.
   */
  materialize(rows: readonly FeatureRow[]): Promise<boolean> {
    this.buffer(rows);
    if (this.#retryTimer !== undefined) return Promise.resolve(false);
    return this.flush();
  }

  /** Buffers `rows` (newest per entity) without writing; the next {@link flush} or retry writes them. */
  buffer(rows: readonly FeatureRow[]): void {
    for (const row of rows) this.#buffer(row);
  }

  /**
   * Writes everything buffered now (cancelling a scheduled retry); true when nothing is left.
   * With `once`, writes only what is buffered at the call, as one write (in chunks), and leaves rows that
   * arrive during that write for the next call: a periodic writer then writes each entity at most
   * once per period (draining until empty would chase a busy stream with back-to-back writes).
   */
  flush(options: { once?: boolean } = {}): Promise<boolean> {
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    // One writer at a time; a flush during a write waits for it and then writes what is left.
    const run = async (): Promise<boolean> => {
      if (this.#writing !== undefined) await this.#writing;
      if (this.#writing === undefined) this.#writing = this.#drain(options.once === true).finally(() => (this.#writing = undefined));
      return this.#writing;
    };
    return run();
  }

  /**
   * The rows not yet confirmed by Redis — those of the write in flight, then the buffered ones
   * (newest per entity; a slot updated during its write gives its newer row) — e.g. for a
   * checkpoint to carry them over a restart.
   */
  pendingRows(): FeatureRow[] {
    const slots = new Set<Slot>(this.#inFlight);
    for (const slot of this.#dirty) slots.add(slot);
    return [...slots].map((slot) => slot.row);
  }

  stats(): MaterializeStats {
    return { ...this.#stats, pending: this.#dirty.size };
  }

  /** Stops retrying; buffered rows stay unwritten (call {@link flush} first to try once more). */
  close(): void {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #viewOf(name: string): ViewSlots {
    let view = this.#views.get(name);
    if (view === undefined) {
      view = { name, slots: new Map() };
      this.#views.set(name, view);
    }
    return view;
  }

  #buffer(row: FeatureRow): void {
    const view = this.#viewOf(row.view);
    let slot = view.slots.get(row.entity);
    if (slot === undefined) {
      slot = { view, key: entityKey(view.name, row.entity), row };
      view.slots.set(row.entity, slot);
      this.#slotCount++;
    } else if (slot.row.eventTime > row.eventTime) {
      // An older row never replaces a newer one (a replay after a restart, a late event).
      this.#stats.rowsSuperseded++;
      return;
    }
    slot.row = row;
    if (this.#dirty.has(slot)) {
      this.#stats.rowsSuperseded++;
      // While Redis fails, keep the buffer "least recently updated first": that one is dropped when full.
      if (this.#failures > 0) {
        this.#dirty.delete(slot);
        this.#dirty.add(slot);
      }
      return;
    }
    if (this.#dirty.size >= this.#maxPending) {
      const oldest = this.#dirty.values().next().value!;
      this.#dirty.delete(oldest);
      this.#stats.rowsDropped++;
    }
    this.#dirty.add(slot);
  }

  async #drain(once: boolean): Promise<boolean> {
    for (let writes = 0; this.#dirty.size > 0 && !(once && writes > 0); writes++) {
      const batch = [...this.#dirty];
      this.#dirty.clear();
      this.#inFlight = batch;
      const writtenAt = this.#clock.now();
      // Chunks, one MSET each, awaited in turn: encoding 5,000 rows at once held the event
      // loop (and the job's pipeline) for over 100 ms, and one timeout covered the whole batch.
      // One command per chunk, not one per row: ioredis' cost is per command and per argument.
      for (let from = 0; from < batch.length; from += WRITE_CHUNK) {
        const chunk = batch.slice(from, from + WRITE_CHUNK);
        const args: string[] = new Array(chunk.length * 2);
        for (let i = 0; i < chunk.length; i++) {
          args[2 * i] = chunk[i]!.key;
          args[2 * i + 1] = encodeRow(chunk[i]!.row, writtenAt);
        }
        try {
          await withTimeout(this.#client.mset(args), this.#timeoutMs, 'materialize');
        } catch {
          this.#requeue(batch.slice(from));
          return false;
        }
        this.#inFlight = batch.slice(from + WRITE_CHUNK);
        this.#stats.rowsWritten += chunk.length;
      }
      this.#failures = 0;
      this.#stats.batchesWritten++;
      this.#forgetClean();
    }
    return once || this.#dirty.size === 0;
  }

  /**
   * A failed write's slots back into the buffer, then a retry later. They were updated before
   * anything buffered during the write, so they go first (least recently updated), and past
   * `maxPending` the oldest go, as in {@link #buffer}. (Adding them behind, and dropping the rest
   * of the failed write when full, dropped the most recently updated rows instead.)
   */
  #requeue(slots: readonly Slot[]): void {
    this.#inFlight = [];
    const newer = this.#dirty;
    this.#dirty = new Set();
    for (const slot of slots) if (!newer.has(slot)) this.#dirty.add(slot);
    for (const slot of newer) this.#dirty.add(slot);
    while (this.#dirty.size > this.#maxPending) {
      this.#dirty.delete(this.#dirty.values().next().value!);
      this.#stats.rowsDropped++;
    }
    this.#stats.failedBatches++;
    this.#scheduleRetry();
  }

  /** Keeps memory to about `maxPending` entities: past that, slots with nothing to write go. */
  #forgetClean(): void {
    if (this.#slotCount <= this.#maxPending) return;
    for (const view of this.#views.values()) {
      for (const [entity, slot] of view.slots) {
        if (this.#dirty.has(slot)) continue;
        view.slots.delete(entity);
        this.#slotCount--;
      }
    }
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    const delay = Math.min(this.#minBackoff * 2 ** this.#failures, this.#maxBackoff);
    this.#failures++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.flush();
    }, delay);
    this.#retryTimer.unref();
  }
}
