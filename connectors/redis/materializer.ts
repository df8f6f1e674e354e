/**
 * Writes feature rows to Redis: the newest row per entity, one pipelined batch of HSETs per
 * attempt. When Redis is down it keeps a bounded buffer (only the newest row per entity, at most
 * `maxPending` entities) and retries with exponential backoff, so it catches up when Redis returns.
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
  readonly #pending = new Map<string, FeatureRow>();
  /** The rows of the write in flight (out of `#pending` until it succeeds or fails). */
  #inFlight: FeatureRow[] = [];
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

  /** Writes everything buffered now (cancelling a scheduled retry); true when nothing is left. */
  flush(): Promise<boolean> {
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    // One writer at a time; a flush during a write waits for it and then writes what is left.
    const run = async (): Promise<boolean> => {
      if (this.#writing !== undefined) await this.#writing;
      if (this.#writing === undefined) this.#writing = this.#drain().finally(() => (this.#writing = undefined));
      return this.#writing;
    };
    return run();
  }

  /**
   * The rows not yet confirmed by Redis — those of the write in flight, then the buffered ones
   * (newest per entity) — e.g. for a checkpoint to carry them over a restart.
   */
  pendingRows(): FeatureRow[] {
    return [...this.#inFlight, ...this.#pending.values()];
  }

  stats(): MaterializeStats {
    return { ...this.#stats, pending: this.#pending.size };
  }

  /** Stops retrying; buffered rows stay unwritten (call {@link flush} first to try once more). */
  close(): void {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #buffer(row: FeatureRow): void {
    const key = entityKey(row.view, row.entity);
    const held = this.#pending.get(key);
    if (held !== undefined) {
      // An older row never replaces a newer one (a replay after a restart, a late event).
      if (held.eventTime > row.eventTime) {
        this.#stats.rowsSuperseded++;
        return;
      }
      this.#pending.delete(key); // re-insert so Map order stays "least recently updated first"
      this.#stats.rowsSuperseded++;
    } else if (this.#pending.size >= this.#maxPending) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
      this.#stats.rowsDropped++;
    }
    this.#pending.set(key, row);
  }

  async #drain(): Promise<boolean> {
    while (this.#pending.size > 0) {
      const batch = [...this.#pending];
      this.#pending.clear();
      this.#inFlight = batch.map(([, row]) => row);
      const writtenAt = this.#clock.now();
      const pipeline = this.#client.pipeline();
      for (const [key, row] of batch) pipeline.hset(key, encodeRow(row, writtenAt));
      try {
        const results = await withTimeout(pipeline.exec(), this.#timeoutMs, 'materialize');
        const failed = results?.find(([error]) => error !== null);
        if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('pipeline discarded');
      } catch {
        // Put the batch back under anything newer that arrived meanwhile, then retry later.
        this.#inFlight = [];
        for (const [, row] of batch) this.#buffer(row);
        this.#stats.failedBatches++;
        this.#scheduleRetry();
        return false;
      }
      this.#inFlight = [];
      this.#failures = 0;
      this.#stats.batchesWritten++;
      this.#stats.rowsWritten += batch.length;
    }
    return true;
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
