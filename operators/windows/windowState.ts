import { TimeWindow } from './timeWindow.ts';

/** One window of one key: its accumulator and how often it has fired. */
export interface WindowSlot<Acc> {
  readonly window: TimeWindow;
  accumulator: Acc;
  /** 0 until the window fires on time; each late update adds one. */
  firings: number;
}

/** Windows of some scopes, JSON-ready: scope → rows of [key, start, end, accumulator, firings]. */
export type WindowStateSnapshot = Record<string, Array<[key: string, start: number, end: number, accumulator: unknown, firings: number]>>;

/**
 * The open windows of a window operator, grouped like keyed state: by scope (one per source
 * partition, so windows move with their partition), then key, then window.
 *
 * @example
 * const state = new WindowState<number>();
 * state.put('tx/0', 'm1', { window: new TimeWindow(0, 60_000), accumulator: 1, firings: 0 });
 * state.snapshot(); // { 'tx/0': [['m1', 0, 60000, 1, 0]] }
 */
export class WindowState<Acc> {
  readonly #scopes = new Map<string, Map<string, Map<string, WindowSlot<Acc>>>>();
  #size = 0;

  get(scope: string, key: string, window: TimeWindow): WindowSlot<Acc> | undefined {
    return this.#scopes.get(scope)?.get(key)?.get(window.id);
  }

  /** The key's windows (sessions look for the ones a new record touches). */
  windowsOf(scope: string, key: string): IterableIterator<WindowSlot<Acc>> | [] {
    return this.#scopes.get(scope)?.get(key)?.values() ?? [];
  }

  put(scope: string, key: string, slot: WindowSlot<Acc>): void {
    let keys = this.#scopes.get(scope);
    if (keys === undefined) {
      keys = new Map();
      this.#scopes.set(scope, keys);
    }
    let windows = keys.get(key);
    if (windows === undefined) {
      windows = new Map();
      keys.set(key, windows);
    }
    const id = slot.window.id;
    if (!windows.has(id)) this.#size += 1;
    windows.set(id, slot);
  }

  delete(scope: string, key: string, window: TimeWindow): void {
    const keys = this.#scopes.get(scope);
    const windows = keys?.get(key);
    if (windows === undefined || !windows.delete(window.id)) return;
    this.#size -= 1;
    if (windows.size === 0) keys!.delete(key);
  }

  /** Open windows across all scopes. */
  get size(): number {
    return this.#size;
  }

  scopes(): IterableIterator<string> {
    return this.#scopes.keys();
  }

  /** Every window of a scope, for snapshots and timer rebuilding. */
  *entries(scope: string): IterableIterator<[key: string, slot: WindowSlot<Acc>]> {
    const keys = this.#scopes.get(scope);
    if (keys === undefined) return;
    for (const [key, windows] of keys) for (const slot of windows.values()) yield [key, slot];
  }

  dropScope(scope: string): void {
    const keys = this.#scopes.get(scope);
    if (keys === undefined) return;
    for (const windows of keys.values()) this.#size -= windows.size;
    this.#scopes.delete(scope);
  }

  clear(): void {
    this.#scopes.clear();
    this.#size = 0;
  }

  /** The windows of the given scopes (all by default), deep-copied. */
  snapshot(scopes: Iterable<string> = this.#scopes.keys()): WindowStateSnapshot {
    const snapshot: WindowStateSnapshot = {};
    for (const scope of [...scopes]) {
      const rows: WindowStateSnapshot[string] = [];
      for (const [key, slot] of this.entries(scope)) rows.push([key, slot.window.start, slot.window.end, structuredClone(slot.accumulator), slot.firings]);
      snapshot[scope] = rows;
    }
    return snapshot;
  }

  /** Puts a snapshot's windows back, replacing whatever those scopes held. */
  restore(snapshot: WindowStateSnapshot): void {
    for (const [scope, rows] of Object.entries(snapshot)) {
      this.dropScope(scope);
      for (const [key, start, end, accumulator, firings] of rows) {
        this.put(scope, key, { window: new TimeWindow(start, end), accumulator: structuredClone(accumulator) as Acc, firings });
      }
    }
  }
}
