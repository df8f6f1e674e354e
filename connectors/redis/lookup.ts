/**
 * The read side of the online store: one MGET of packed rows (encode.ts) per call, a process-local LRU cache of
 * last known values, and a status for every value so callers can tell fresh values from fallbacks.
 */
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../core/clock.ts';
import type { FeatureValue, FeatureViewInfo } from '../../core/features/index.ts';
import { withTimeout } from './client.ts';
import { decodeRow, decodeValue, entityKey } from './encode.ts';

/**
 * `fresh`: read from Redis (in this call, or within `refreshMs` when the cache answered).
 * `cached`: Redis failed or was slow; the last known value from the cache, still within its TTL.
 * `default`: the feature's default, because the value is `missing` or `expired` (older than its TTL).
 */
export type FeatureStatus = 'fresh' | 'cached' | 'default';

/** One served value. */
export interface ServedValue {
  value: FeatureValue;
  status: FeatureStatus;
  /** Why the default was served; only with status `default`. */
  reason?: 'missing' | 'expired';
  /** Now minus the value's event time; null when missing. */
  ageMs: number | null;
}

/** The served values of one entity. */
export interface EntityFeatures {
  entity: string;
  /** Event time of the values found (in Redis or the cache), null when none. */
  eventTime: number | null;
  values: Record<string, ServedValue>;
}

/** Options of {@link Lookup}. */
export interface LookupOptions {
  clock: Clock;
  commandTimeoutMs: number;
  /** Entities kept in the cache. Default 100,000. */
  cacheMaxEntries?: number;
  /** How long last known values stay usable as a fallback. Default 10 min. */
  cacheTtlMs?: number;
  /** A cached read younger than this is served without asking Redis (as `fresh`). Default 0: always ask. */
  refreshMs?: number;
}

/** Counters of the lookup side. */
export interface LookupStats {
  lookups: number;
  entities: number;
  /** Entities answered from the cache without asking Redis (`refreshMs`). */
  cacheHits: number;
  /** Lookups whose Redis call failed or timed out. */
  redisFailures: number;
  fresh: number;
  cached: number;
  defaultMissing: number;
  defaultExpired: number;
}

interface Entry {
  eventTime: number;
  writtenAt: number;
  fetchedAt: number;
  /** The stored values by feature name (decoded per feature when served). */
  values: Readonly<Record<string, unknown>>;
}

/**
 * Serves feature values of entities.
 *
 * @example
 * const lookup = new Lookup(client, { clock: systemClock, commandTimeoutMs: 250 });
 * const [u] = await lookup.lookup(view, ['u0042']);
 * u.values.tx_count_1h; // { value: 0.69, status: 'fresh', ageMs: 1200 }
 */
export class Lookup {
  readonly #client: Redis;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #refreshMs: number;
  readonly #cache: LRUCache<string, Entry>;
  readonly #stats: LookupStats = { lookups: 0, entities: 0, cacheHits: 0, redisFailures: 0, fresh: 0, cached: 0, defaultMissing: 0, defaultExpired: 0 };

  constructor(client: Redis, options: LookupOptions) {
    this.#client = client;
    this.#clock = options.clock;
    this.#timeoutMs = options.commandTimeoutMs;
    this.#refreshMs = options.refreshMs ?? 0;
    // The cache ages on the injected clock, so TTL tests move time instead of sleeping.
    this.#cache = new LRUCache<string, Entry>({
      max: options.cacheMaxEntries ?? 100_000,
      ttl: options.cacheTtlMs ?? 600_000,
      ttlAutopurge: false,
      perf: { now: () => options.clock.now() },
    });
  }

  /** Values of `entities` in `view`, in the order asked. Never rejects because Redis is down. */
  async lookup(view: FeatureViewInfo, entities: readonly string[]): Promise<EntityFeatures[]> {
    const now = this.#clock.now();
    this.#stats.lookups++;
    this.#stats.entities += entities.length;
    const keys = entities.map((e) => entityKey(view.name, e));
    const found: (Entry | undefined)[] = new Array(entities.length);
    const fromRedis: boolean[] = new Array(entities.length).fill(false);
    const ask: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const hit = this.#refreshMs > 0 ? this.#cache.get(keys[i]!) : undefined;
      if (hit !== undefined && now - hit.fetchedAt < this.#refreshMs) {
        found[i] = hit;
        fromRedis[i] = true; // read from Redis within refreshMs: as good as this call
        this.#stats.cacheHits++;
      } else {
        ask.push(i);
      }
    }
    if (ask.length > 0) {
      let results: (string | null)[] | null = null;
      try {
        results = await withTimeout(this.#client.mget(ask.map((i) => keys[i]!)), this.#timeoutMs, 'lookup');
      } catch {
        results = null;
      }
      if (results === null) {
        this.#stats.redisFailures++;
        for (const i of ask) found[i] = this.#cache.get(keys[i]!);
      } else {
        ask.forEach((i, n) => {
          // An absent key, or one this store did not write (e.g. an old hash: MGET reads it as nil).
          const stored = decodeRow(results![n]);
          if (stored === undefined) {
            this.#cache.delete(keys[i]!);
            return; // not in Redis: missing, whatever the cache held
          }
          const entry: Entry = { eventTime: stored.eventTime, writtenAt: stored.writtenAt, fetchedAt: now, values: stored.values };
          this.#cache.set(keys[i]!, entry);
          found[i] = entry;
          fromRedis[i] = true;
        });
      }
    }
    return entities.map((entity, i) => this.#serve(view, entity, found[i], fromRedis[i]!, now));
  }

  stats(): LookupStats {
    return { ...this.#stats };
  }

  #serve(view: FeatureViewInfo, entity: string, entry: Entry | undefined, fresh: boolean, now: number): EntityFeatures {
    const values: Record<string, ServedValue> = {};
    view.features.forEach((feature) => {
      const value = entry === undefined ? undefined : decodeValue(feature, entry.values[feature.name]);
      if (entry === undefined || value === undefined) {
        this.#stats.defaultMissing++;
        values[feature.name] = { value: feature.default, status: 'default', reason: 'missing', ageMs: null };
        return;
      }
      const ageMs = now - entry.eventTime;
      // Older than its TTL is never fresh, wherever it came from.
      if (ageMs > feature.ttlMs) {
        this.#stats.defaultExpired++;
        values[feature.name] = { value: feature.default, status: 'default', reason: 'expired', ageMs };
        return;
      }
      if (fresh) this.#stats.fresh++;
      else this.#stats.cached++;
      values[feature.name] = { value, status: fresh ? 'fresh' : 'cached', ageMs };
    });
    return { entity, eventTime: entry?.eventTime ?? null, values };
  }
}
