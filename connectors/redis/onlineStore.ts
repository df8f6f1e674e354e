/**
 * The online feature store on Redis: `materialize` writes each entity's latest feature values,
 * `lookup` serves them with a freshness status. Built on ioredis (see docs/feature-store.md for
 * why) with settings that keep a Redis outage from stalling the job.
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import type { FeatureRow, FeatureViewInfo } from '../../core/features/index.ts';
import { connectRedis, type RedisClientOptions } from './client.ts';
import { Lookup, type EntityFeatures, type LookupOptions, type LookupStats } from './lookup.ts';
import { Materializer, type MaterializeStats, type MaterializerOptions } from './materializer.ts';

/** Options of {@link onlineStore}. */
export interface OnlineStoreOptions
  extends RedisClientOptions,
    Omit<LookupOptions, 'clock' | 'commandTimeoutMs'>,
    Omit<MaterializerOptions, 'clock' | 'commandTimeoutMs'> {
  /** Ages values and the cache. Default: the wall clock. */
  clock?: Clock;
}

/** Counters of both sides plus the connection. */
export interface OnlineStoreStats {
  lookup: LookupStats;
  materialize: MaterializeStats;
  connectionErrors: number;
}

/** A connected online store. */
export interface OnlineStore {
  readonly url: string;
  /** Writes rows (newest per entity); buffers and retries when Redis is down. True when nothing is pending. */
  materialize(rows: readonly FeatureRow[]): Promise<boolean>;
  /** Buffers rows (newest per entity) for the next flush, without writing now. */
  buffer(rows: readonly FeatureRow[]): void;
  /** Tries to write everything buffered now; true when nothing is pending. `once`: one write of what is buffered at the call (true when it succeeded). */
  flush(options?: { once?: boolean }): Promise<boolean>;
  /** Rows buffered while Redis was down and not written yet (newest per entity). */
  pendingRows(): FeatureRow[];
  /** Feature values of `entities` in `view` with a status each; falls back to cache and defaults. */
  lookup(view: FeatureViewInfo, entities: readonly string[]): Promise<EntityFeatures[]>;
  stats(): OnlineStoreStats;
  /** Tries one last flush, then disconnects. */
  close(): Promise<void>;
}

/**
 * Connects to Redis at `url`; rejects with one line naming the URL and `--redis`/`REDIS_URL` when
 * it cannot.
 *
 * @example
 * const store = await onlineStore({ url: 'redis://127.0.0.1:6379' });
 * await store.materialize(rows);
 * const [user] = await store.lookup(fraudFeatures, ['u0042']);
 * await store.close();
 */
export async function onlineStore(options: OnlineStoreOptions): Promise<OnlineStore> {
  const clock = options.clock ?? systemClock;
  // Two connections: Redis answers one connection's commands in order, so on a shared one a
  // lookup would wait behind a whole write chunk (500 rows) sent just before it.
  const connecting = [connectRedis(options), connectRedis(options)] as const;
  const [reads, writes] = await Promise.allSettled(connecting);
  if (reads.status === 'rejected' || writes.status === 'rejected') {
    for (const settled of [reads, writes]) if (settled.status === 'fulfilled') settled.value.client.disconnect();
    throw reads.status === 'rejected' ? reads.reason : (writes as PromiseRejectedResult).reason;
  }
  const connections = [reads.value, writes.value];
  const { commandTimeoutMs } = reads.value;
  const materializer = new Materializer(writes.value.client, { ...options, clock, commandTimeoutMs });
  const lookup = new Lookup(reads.value.client, { ...options, clock, commandTimeoutMs });
  return {
    url: options.url,
    materialize: (rows) => materializer.materialize(rows),
    buffer: (rows) => materializer.buffer(rows),
    flush: (options) => materializer.flush(options),
    pendingRows: () => materializer.pendingRows(),
    lookup: (view, entities) => lookup.lookup(view, entities),
    stats: () => ({ lookup: lookup.stats(), materialize: materializer.stats(), connectionErrors: reads.value.errors() + writes.value.errors() }),
    async close() {
      if (writes.value.client.status === 'ready') await materializer.flush();
      materializer.close();
      for (const connection of connections) connection.client.disconnect();
    },
  };
}
