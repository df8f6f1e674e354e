/**
 * The building blocks of a feature view's keyed state. Each is a pair of pure functions over
 * plain JSON data (so the state can live in keyed state and checkpoints): `init()` and
 * `add(state, event, time)`, which may mutate `state` and returns it. Features read these states
 * through the readers below (`windowCount`, `windowSum`, `windowAvg`, `timeSince`, ...).
 */
import { durationMs, type Duration } from './duration.ts';

/** One piece of keyed state: how it starts and how one event changes it. */
export interface Aggregation<E, S> {
  init(): S;
  /** Adds `event` (event time `time`); may mutate `state`, returns the new state. */
  add(state: S, event: E, time: number): S;
}

/** Event times (and optional values) within `retain` of the newest time seen, ascending. */
export interface WindowState {
  /** Newest event time seen; meaningful once `times` was non-empty. */
  newest: number;
  times: number[];
  /** Parallel to `times` when the window has a `value`; empty otherwise. */
  values: number[];
}

/**
 * Keeps the events of the last `retain` of event time (and at most `maxEvents`), so windowed
 * counts, sums and averages over any window up to `retain` can be read at any time. Late events
 * are inserted in order; times at or before `newest - retain` are pruned.
 *
 * @example
 * const recent = eventWindow<Tx>({ retain: '24h', maxEvents: 500, value: (tx) => tx.amount });
 * // in a feature: windowCount(state.recent, time, '1h')
 */
export function eventWindow<E>(options: { retain: Duration; maxEvents?: number; value?: (event: E) => number }): Aggregation<E, WindowState> {
  const retainMs = durationMs(options.retain, 'retain');
  const maxEvents = options.maxEvents ?? 10_000;
  const value = options.value;
  return {
    init: () => ({ newest: 0, times: [], values: [] }),
    add(state, event, t) {
      // The newest time is never pruned, so an empty list means a first event.
      state.newest = state.times.length === 0 ? t : Math.max(state.newest, t);
      const { times, values } = state;
      let at = times.length;
      while (at > 0 && times[at - 1]! > t) at--;
      if (at === times.length) times.push(t);
      else times.splice(at, 0, t);
      if (value !== undefined) values.splice(at, 0, value(event));
      const from = state.newest - retainMs;
      let drop = 0;
      while (drop < times.length && times[drop]! <= from) drop++;
      if (times.length - drop > maxEvents) drop = times.length - maxEvents;
      if (drop > 0) {
        times.splice(0, drop);
        if (value !== undefined) values.splice(0, drop);
      }
      return state;
    },
  };
}

/** The first index whose time is above `t` (times are sorted ascending): a binary search. */
function firstAfter(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Visits the indexes of events with time in (t - window, t], newest first. */
function forWindow(state: WindowState, t: number, window: Duration, visit: (i: number) => void): void {
  const times = state.times;
  const from = firstAfter(times, t - durationMs(window, 'window'));
  for (let i = firstAfter(times, t) - 1; i >= from; i--) visit(i);
}

/**
 * Events with event time in (t - window, t].
 *
 * @example
 * windowCount(state.recent, tx.timestamp, '1h'); // transactions in the previous hour
 */
export function windowCount(state: WindowState, t: number, window: Duration): number {
  // The hot path of every windowed count: two binary searches over the sorted times, not a scan
  // of a window that may hold hundreds of events.
  const times = state.times;
  return firstAfter(times, t) - firstAfter(times, t - durationMs(window, 'window'));
}

/**
 * Sum of the window's values with event time in (t - window, t] (0 for none).
 *
 * @example
 * windowSum(state.amounts, tx.timestamp, '24h');
 */
export function windowSum(state: WindowState, t: number, window: Duration): number {
  let sum = 0;
  forWindow(state, t, window, (i) => (sum += state.values[i]!));
  return sum;
}

/**
 * Mean of the values in (t - window, t], or `empty` when there are none.
 *
 * @example
 * windowAvg(state.amounts, tx.timestamp, '24h', 0);
 */
export function windowAvg(state: WindowState, t: number, window: Duration, empty: number): number {
  let sum = 0;
  let n = 0;
  forWindow(state, t, window, (i) => {
    sum += state.values[i]!;
    n++;
  });
  return n === 0 ? empty : sum / n;
}

/** The value of the newest event (by event time; a tie goes to the later arrival). */
export interface LatestState<V> {
  seen: boolean;
  time: number;
  value: V | null;
}

/**
 * The last value (by event time) and its time, for "last value" and "time since last" features.
 *
 * @example
 * const last = latest((tx: Tx) => tx.merchantId);
 * // in a feature: timeSince(state.last, time) ?? Infinity
 */
export function latest<E, V>(value: (event: E) => V): Aggregation<E, LatestState<V>> {
  return {
    init: () => ({ seen: false, time: 0, value: null }),
    add(state, event, t) {
      if (!state.seen || t >= state.time) {
        state.time = t;
        state.value = value(event);
      }
      state.seen = true;
      return state;
    },
  };
}

/**
 * Milliseconds from the last event to `t` (never negative), or `undefined` with no event yet.
 *
 * @example
 * timeSince(state.last, tx.timestamp); // 120000
 */
export function timeSince<V>(state: LatestState<V>, t: number): number | undefined {
  return state.seen ? Math.max(t - state.time, 0) : undefined;
}

/** A running mean that becomes an exponential average after `window` values. */
export interface MeanState {
  n: number;
  mean: number;
}

/**
 * Mean of every value so far, then an exponential average with weight 1/`window` (cheap, bounded).
 *
 * @example
 * const avgAmount = runningMean((tx: Tx) => tx.amount, { window: 100 });
 */
export function runningMean<E>(value: (event: E, time: number) => number, options: { window: number }): Aggregation<E, MeanState> {
  const window = options.window;
  return {
    init: () => ({ n: 0, mean: 0 }),
    add(state, event, t) {
      state.n++;
      state.mean += (value(event, t) - state.mean) / Math.min(state.n, window);
      return state;
    },
  };
}

/** Up to `max` keys with their counts (parallel arrays). */
export interface TopCountsState {
  keys: string[];
  counts: number[];
}

/**
 * Counts per key for at most `max` keys; a new key replaces the least counted one when full.
 *
 * @example
 * const countries = topCounts((tx: Tx) => tx.country, { max: 8 });
 * // in a feature: mostFrequent(state.countries)
 */
export function topCounts<E>(key: (event: E) => string, options: { max: number }): Aggregation<E, TopCountsState> {
  const max = options.max;
  return {
    init: () => ({ keys: [], counts: [] }),
    add(state, event) {
      const k = key(event);
      const at = state.keys.indexOf(k);
      if (at >= 0) {
        state.counts[at]!++;
      } else if (state.keys.length < max) {
        state.keys.push(k);
        state.counts.push(1);
      } else {
        let min = 0;
        for (let i = 1; i < state.counts.length; i++) if (state.counts[i]! < state.counts[min]!) min = i;
        state.keys[min] = k;
        state.counts[min] = 1;
      }
      return state;
    },
  };
}

/**
 * The key with the highest count (the first one on a tie), or `undefined` when empty.
 *
 * @example
 * mostFrequent({ keys: ['DE', 'FR'], counts: [3, 5] }); // 'FR'
 */
export function mostFrequent(state: TopCountsState): string | undefined {
  let best = -1;
  let found: string | undefined;
  for (let i = 0; i < state.keys.length; i++) {
    if (state.counts[i]! > best) {
      best = state.counts[i]!;
      found = state.keys[i];
    }
  }
  return found;
}

/** The `max` most recently seen distinct keys, most recent last. */
export interface RecentDistinctState {
  items: string[];
}

/**
 * The most recently used distinct keys (e.g. merchants), for "seen before" features.
 *
 * @example
 * const merchants = recentDistinct((tx: Tx) => tx.merchantId, { max: 16 });
 * // in a feature: state.merchants.items.includes(tx.merchantId)
 */
export function recentDistinct<E>(key: (event: E) => string, options: { max: number }): Aggregation<E, RecentDistinctState> {
  const max = options.max;
  return {
    init: () => ({ items: [] }),
    add(state, event) {
      const k = key(event);
      const items = state.items;
      const at = items.lastIndexOf(k);
      if (at < 0 || at !== items.length - 1) {
        if (at >= 0) items.splice(at, 1);
        items.push(k);
        if (items.length > max) items.shift();
      }
      return state;
    },
  };
}
