/**
 * Where keyed state lives. State is grouped in scopes (one per source partition, so it can move
 * with its partition), then by state name, then by key. Values must be JSON-serializable: they
 * are written into checkpoints and changelogs.
 */
export interface StateBackend {
  get(scope: string, name: string, key: string): StateEntry | undefined;
  put(scope: string, name: string, key: string, entry: StateEntry): void;
  delete(scope: string, name: string, key: string): void;
  /** Every entry of a scope, for snapshots. */
  entries(scope: string): IterableIterator<[name: string, key: string, entry: StateEntry]>;
  scopes(): IterableIterator<string>;
  /** Drops a whole scope (its partition moved away). */
  dropScope(scope: string): void;
  /**
   * Starts recording which entries of each scope change, for incremental checkpoints (a
   * changelog). Off by default: it costs a little on every write.
   */
  trackChanges(): void;
  /** The entries of a scope written or deleted since the last call (undefined entry = deleted). */
  takeChanges(scope: string): Array<[name: string, key: string, entry: StateEntry | undefined]>;
}

/** One stored value and, when it has a TTL, the processing time it expires at. */
export interface StateEntry {
  value: unknown;
  expiresAt?: number | undefined;
}

/** A JSON-ready copy of the state of some scopes. */
export type StateSnapshot = Record<string, Array<[name: string, key: string, value: unknown, expiresAt: number | null]>>;

/**
 * Keyed state in this process's memory: fast, and lost with the process unless checkpointed.
 *
 * @example
 * const backend = new MemoryStateBackend();
 * backend.put('t/0', 'count', 'user-1', { value: 3 });
 */
export class MemoryStateBackend implements StateBackend {
  readonly #scopes = new Map<string, Map<string, Map<string, StateEntry>>>();
  /** Per scope, per state name, the keys changed since the last takeChanges; undefined when not tracking. */
  #changes: Map<string, Map<string, Set<string>>> | undefined;

  get(scope: string, name: string, key: string): StateEntry | undefined {
    return this.#scopes.get(scope)?.get(name)?.get(key);
  }

  put(scope: string, name: string, key: string, entry: StateEntry): void {
    let names = this.#scopes.get(scope);
    if (names === undefined) {
      names = new Map();
      this.#scopes.set(scope, names);
    }
    let keys = names.get(name);
    if (keys === undefined) {
      keys = new Map();
      names.set(name, keys);
    }
    keys.set(key, entry);
    if (this.#changes !== undefined) this.#changed(scope, name, key);
  }

  delete(scope: string, name: string, key: string): void {
    const deleted = this.#scopes.get(scope)?.get(name)?.delete(key) ?? false;
    if (deleted && this.#changes !== undefined) this.#changed(scope, name, key);
  }

  trackChanges(): void {
    this.#changes ??= new Map();
  }

  takeChanges(scope: string): Array<[string, string, StateEntry | undefined]> {
    const changed = this.#changes?.get(scope);
    if (changed === undefined) return [];
    this.#changes!.delete(scope);
    const out: Array<[string, string, StateEntry | undefined]> = [];
    for (const [name, keys] of changed) for (const key of keys) out.push([name, key, this.get(scope, name, key)]);
    return out;
  }

  #changed(scope: string, name: string, key: string): void {
    let names = this.#changes!.get(scope);
    if (names === undefined) {
      names = new Map();
      this.#changes!.set(scope, names);
    }
    let keys = names.get(name);
    if (keys === undefined) {
      keys = new Set();
      names.set(name, keys);
    }
    keys.add(key);
  }

  *entries(scope: string): IterableIterator<[string, string, StateEntry]> {
    const names = this.#scopes.get(scope);
    if (names === undefined) return;
    for (const [name, keys] of names) for (const [key, entry] of keys) yield [name, key, entry];
  }

  scopes(): IterableIterator<string> {
    return this.#scopes.keys();
  }

  dropScope(scope: string): void {
    this.#scopes.delete(scope);
    this.#changes?.delete(scope);
  }
}

/**
 * Copies the state of the given scopes (all by default) into a JSON-ready snapshot.
 *
 * @example
 * const snapshot = snapshotState(backend);
 * restoreState(new MemoryStateBackend(), snapshot);
 */
export function snapshotState(backend: StateBackend, scopes: Iterable<string> = backend.scopes()): StateSnapshot {
  const snapshot: StateSnapshot = {};
  for (const scope of [...scopes]) {
    const rows: StateSnapshot[string] = [];
    for (const [name, key, entry] of backend.entries(scope)) {
      rows.push([name, key, structuredClone(entry.value), entry.expiresAt ?? null]);
    }
    snapshot[scope] = rows;
  }
  return snapshot;
}

/** Puts a snapshot's entries back, replacing whatever those scopes held. */
export function restoreState(backend: StateBackend, snapshot: StateSnapshot): void {
  for (const [scope, rows] of Object.entries(snapshot)) {
    backend.dropScope(scope);
    for (const [name, key, value, expiresAt] of rows) {
      backend.put(scope, name, key, expiresAt === null ? { value } : { value, expiresAt });
    }
  }
}
