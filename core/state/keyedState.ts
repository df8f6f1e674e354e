import type { Clock } from '../clock.ts';
import { requireNonNegativeNumber } from '../errors.ts';
import type { StateBackend, StateEntry } from './backend.ts';

/** Declares a piece of keyed state; the job creates it once, operators bind it to the current key. */
export interface StateDescriptor<Kind extends 'value' | 'map', T> {
  readonly kind: Kind;
  readonly name: string;
  /** Entries expire this long after their last write (processing time), like Flink's TTL. */
  readonly ttlMs: number | undefined;
  /** Phantom field carrying the value type. */
  readonly __type?: T;
}

export type ValueStateDescriptor<T> = StateDescriptor<'value', T>;
export type MapStateDescriptor<V> = StateDescriptor<'map', V>;

/** The current key's single value. */
export interface ValueState<T> {
  get(): T | undefined;
  update(value: T): void;
  clear(): void;
}

/** The current key's map of values (for example one entry per merchant). */
export interface MapState<V> {
  get(mapKey: string): V | undefined;
  put(mapKey: string, value: V): void;
  remove(mapKey: string): void;
  entries(): Array<[string, V]>;
  clear(): void;
}

/**
 * Declares value state.
 *
 * @example
 * const history = valueState<UserHistory>('user-history', { ttlMs: 7 * 24 * 3600_000 });
 */
export function valueState<T>(name: string, options: { ttlMs?: number } = {}): ValueStateDescriptor<T> {
  return { kind: 'value', name, ttlMs: checkTtl(options.ttlMs) };
}

/**
 * Declares map state.
 *
 * @example
 * const perMerchant = mapState<number>('merchant-count', { ttlMs: 3600_000 });
 */
export function mapState<V>(name: string, options: { ttlMs?: number } = {}): MapStateDescriptor<V> {
  return { kind: 'map', name, ttlMs: checkTtl(options.ttlMs) };
}

/**
 * Keyed state scoped to "the current key": the operator sets the key of the record it is
 * processing, and every state handle reads and writes that key's entry, as in Flink.
 *
 * @example
 * const store = new KeyedStateStore(new MemoryStateBackend(), systemClock);
 * const count = store.value(valueState<number>('count'));
 * store.setCurrentKey('transactions/0', 'user-1');
 * count.update((count.get() ?? 0) + 1);
 */
export class KeyedStateStore {
  readonly backend: StateBackend;
  readonly #clock: Clock;
  #scope = '';
  #key = '';

  constructor(backend: StateBackend, clock: Clock) {
    this.backend = backend;
    this.#clock = clock;
  }

  setCurrentKey(scope: string, key: string): void {
    this.#scope = scope;
    this.#key = key;
  }

  get currentKey(): string {
    return this.#key;
  }

  value<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    const { name, ttlMs } = descriptor;
    return {
      get: () => this.#read(name, this.#key) as T | undefined,
      update: (value) => this.backend.put(this.#scope, name, this.#key, this.#entry(value, ttlMs)),
      clear: () => this.backend.delete(this.#scope, name, this.#key),
    };
  }

  map<V>(descriptor: MapStateDescriptor<V>): MapState<V> {
    const { name, ttlMs } = descriptor;
    // One backend entry per (key, mapKey), so TTL applies per map entry as in Flink.
    const current = () => this.#read(name, this.#key) as Record<string, StateEntry> | undefined;
    const live = (entries: Record<string, StateEntry>, mapKey: string): StateEntry | undefined => {
      const entry = entries[mapKey];
      if (entry === undefined) return undefined;
      if (entry.expiresAt !== undefined && entry.expiresAt <= this.#clock.now()) {
        delete entries[mapKey];
        return undefined;
      }
      return entry;
    };
    return {
      get: (mapKey) => {
        const entries = current();
        return entries === undefined ? undefined : (live(entries, mapKey)?.value as V | undefined);
      },
      // Every change goes through backend.put, so a changelog sees it.
      put: (mapKey, value) => {
        const entries = current() ?? {};
        entries[mapKey] = this.#entry(value, ttlMs);
        this.backend.put(this.#scope, name, this.#key, { value: entries });
      },
      remove: (mapKey) => {
        const entries = current();
        if (entries === undefined || !(mapKey in entries)) return;
        delete entries[mapKey];
        this.backend.put(this.#scope, name, this.#key, { value: entries });
      },
      entries: () => {
        const entries = current();
        if (entries === undefined) return [];
        const out: Array<[string, V]> = [];
        for (const mapKey of Object.keys(entries)) {
          const entry = live(entries, mapKey);
          if (entry !== undefined) out.push([mapKey, entry.value as V]);
        }
        return out;
      },
      clear: () => this.backend.delete(this.#scope, name, this.#key),
    };
  }

  #read(name: string, key: string): unknown {
    const entry = this.backend.get(this.#scope, name, key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#clock.now()) {
      this.backend.delete(this.#scope, name, key);
      return undefined;
    }
    return entry.value;
  }

  #entry(value: unknown, ttlMs: number | undefined): StateEntry {
    return ttlMs === undefined ? { value } : { value, expiresAt: this.#clock.now() + ttlMs };
  }
}

function checkTtl(ttlMs: number | undefined): number | undefined {
  return ttlMs === undefined ? undefined : requireNonNegativeNumber('ttlMs', ttlMs);
}
