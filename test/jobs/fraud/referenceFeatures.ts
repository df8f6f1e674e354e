/**
 * The fraud features as they were hand-written before the feature view (the code fraud-v1 was
 * trained with), kept ONLY as a test oracle: the view in jobs/fraud/featureView.ts must give
 * these vectors bit for bit. The job, the backfill and the online store never run this.
 */
import { FEATURE_COUNT, MERCHANT_CATEGORY_RISK } from '../../../jobs/fraud/featureView.ts';
import type { Transaction } from '../../../jobs/fraud/transactions.ts';

/**
 * What the features remember about one user: a plain JSON-serializable object, bounded in size,
 * so it can live in keyed state and in checkpoints.
 */
export interface UserHistory {
  /** Transactions seen, all time. */
  count: number;
  /** Running mean of amounts; an exponential average once `count` passes 100. */
  avgAmount: number;
  /** Largest event time seen (meaningful when count > 0). */
  lastTimestamp: number;
  /** Event times within 24 h of `lastTimestamp`, ascending, at most 500. */
  recentTimes: number[];
  /** Mean unit vector of the hour-of-day angle (same averaging as `avgAmount`). */
  hourX: number;
  hourY: number;
  /** Up to 8 countries with their transaction counts (parallel arrays). */
  countries: string[];
  countryCounts: number[];
  /** Up to 16 most recently used distinct merchants, most recent last. */
  merchants: string[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MINUTE_MS = 60_000;
const AVG_WINDOW = 100;
const MAX_RECENT = 500;
const MAX_COUNTRIES = 8;
const MAX_MERCHANTS = 16;
const DEFAULT_HOUR = 14; // a daytime centre for users with no history
const LIMIT = 5;

/**
 * A history with no transactions.
 *
 * @example
 * const history = emptyHistory(); // { count: 0, ... }
 */
export function emptyHistory(): UserHistory {
  return { count: 0, avgAmount: 0, lastTimestamp: 0, recentTimes: [], hourX: 0, hourY: 0, countries: [], countryCounts: [], merchants: [] };
}

function clip(x: number): number {
  if (x !== x) return 0; // NaN
  return x > LIMIT ? LIMIT : x < -LIMIT ? -LIMIT : x;
}

/** Transactions in `history` with event time in (t - windowMs, t]. */
function countWindow(times: number[], t: number, windowMs: number): number {
  const from = t - windowMs;
  let n = 0;
  for (let i = times.length - 1; i >= 0; i--) {
    const ts = times[i]!;
    if (ts <= from) break;
    if (ts <= t) n++;
  }
  return n;
}

function hourOfDay(timestamp: number): number {
  const h = (timestamp / HOUR_MS) % 24;
  return h < 0 ? h + 24 : h;
}

function usualCountry(history: UserHistory): string | undefined {
  let best = -1;
  let country: string | undefined;
  for (let i = 0; i < history.countries.length; i++) {
    if (history.countryCounts[i]! > best) {
      best = history.countryCounts[i]!;
      country = history.countries[i];
    }
  }
  return country;
}

/**
 * The ten features of `tx` given `history`, which must hold everything the user did BEFORE `tx`.
 * Pure and deterministic: uses event time only, never the wall clock, and never reads
 * `tx.isFraud`. Every value is finite and within [-5, 5]. Writes into `out` when given (length >= 10).
 *
 * @example
 * const history = emptyHistory();
 * const features = computeFeatures(tx, history); // Float32Array(10), order = FEATURE_NAMES
 * updateHistory(history, tx);
 */
export function computeFeatures(tx: Transaction, history: UserHistory, out: Float32Array = new Float32Array(FEATURE_COUNT)): Float32Array {
  if (out.length < FEATURE_COUNT) throw new RangeError(`out must have room for ${FEATURE_COUNT} features (got length ${out.length})`);
  const t = tx.timestamp;
  const seen = history.count > 0;

  out[0] = clip(Math.log1p(tx.amount) / 2 - 2);
  out[1] = seen ? clip(Math.log((tx.amount + 1) / (history.avgAmount + 1))) : 0;
  out[2] = clip(Math.log1p(countWindow(history.recentTimes, t, HOUR_MS)));
  out[3] = clip(Math.log1p(countWindow(history.recentTimes, t, DAY_MS)));

  const minutes = seen ? Math.min(Math.max((t - history.lastTimestamp) / MINUTE_MS, 0), 24 * 60) : 24 * 60;
  out[4] = clip(Math.log1p(minutes) / 1.5);

  let usualHour = DEFAULT_HOUR;
  if (seen && history.hourX * history.hourX + history.hourY * history.hourY > 1e-12) {
    usualHour = ((Math.atan2(history.hourY, history.hourX) / (2 * Math.PI)) * 24 + 24) % 24;
  }
  const dh = Math.abs(hourOfDay(t) - usualHour);
  out[5] = clip(Math.min(dh, 24 - dh) / 6);

  const home = seen ? usualCountry(history) : undefined;
  out[6] = home === undefined ? 0.5 : home === tx.country ? 0 : 1;
  out[7] = MERCHANT_CATEGORY_RISK[tx.merchantCategory] ?? 0.5;
  out[8] = tx.cardPresent ? 0 : 1;
  out[9] = history.merchants.includes(tx.merchantId) ? 0 : 1;
  return out;
}

/**
 * Adds `tx` to `history`. Mutates `history` in place and returns the same object (so keyed state
 * can store it back as is); copy it first with `structuredClone` if the old value is still needed.
 * Stays bounded: event times older than 24 h before the latest one are pruned, sets are capped.
 *
 * @example
 * let history = emptyHistory();
 * for (const tx of txs) {
 *   const features = computeFeatures(tx, history);
 *   history = updateHistory(history, tx);
 * }
 */
export function updateHistory(history: UserHistory, tx: Transaction): UserHistory {
  const t = tx.timestamp;
  history.count++;
  const n = Math.min(history.count, AVG_WINDOW);
  history.avgAmount += (tx.amount - history.avgAmount) / n;
  const angle = (hourOfDay(t) / 24) * 2 * Math.PI;
  history.hourX += (Math.cos(angle) - history.hourX) / n;
  history.hourY += (Math.sin(angle) - history.hourY) / n;
  history.lastTimestamp = history.count === 1 ? t : Math.max(history.lastTimestamp, t);

  const times = history.recentTimes;
  let at = times.length;
  while (at > 0 && times[at - 1]! > t) at--;
  if (at === times.length) times.push(t);
  else times.splice(at, 0, t);
  const from = history.lastTimestamp - DAY_MS;
  let drop = 0;
  while (drop < times.length && times[drop]! <= from) drop++;
  if (times.length - drop > MAX_RECENT) drop = times.length - MAX_RECENT;
  if (drop > 0) times.splice(0, drop);

  const c = history.countries.indexOf(tx.country);
  if (c >= 0) {
    history.countryCounts[c]!++;
  } else if (history.countries.length < MAX_COUNTRIES) {
    history.countries.push(tx.country);
    history.countryCounts.push(1);
  } else {
    let min = 0;
    for (let i = 1; i < history.countryCounts.length; i++) if (history.countryCounts[i]! < history.countryCounts[min]!) min = i;
    history.countries[min] = tx.country;
    history.countryCounts[min] = 1;
  }

  const merchants = history.merchants;
  const m = merchants.lastIndexOf(tx.merchantId);
  if (m < 0 || m !== merchants.length - 1) {
    if (m >= 0) merchants.splice(m, 1);
    merchants.push(tx.merchantId);
    if (merchants.length > MAX_MERCHANTS) merchants.shift();
  }
  return history;
}
