import type { Transaction } from './transactions.ts';

/**
 * The ten model inputs, in the order of the model's `features` tensor. Defined once here and used
 * by the streaming job (keyed state) and by the offline backfill (training data), so training and
 * serving cannot disagree.
 */
export const FEATURE_NAMES: readonly string[] = Object.freeze([
  'amount_log', //             log1p(amount) / 2 - 2
  'amount_vs_user_avg', //     log((amount + 1) / (user's running average + 1)); 0 for a first transaction
  'tx_count_1h', //            log1p(user's transactions in the previous hour of event time)
  'tx_count_24h', //           log1p(user's transactions in the previous 24 h of event time)
  'minutes_since_last_tx', //  log1p(minutes since the user's last transaction, capped at 24 h) / 1.5
  'hour_deviation', //         circular distance (h) from the user's usual hour of day, / 6
  'foreign_country', //        1 if not the user's most frequent country, 0 if it is, 0.5 with no history
  'merchant_category_risk', // prior risk of the merchant category, 0..1 (0.5 if unknown)
  'card_not_present', //       1 if the card was not present
  'new_merchant', //           1 if the merchant is not among the user's recent merchants
]);

export const FEATURE_COUNT = 10;

/**
 * Prior fraud risk per merchant category (domain knowledge, not learned). Unknown categories get
 * 0.5. Null prototype, so a category such as `toString` is just unknown.
 */
export const MERCHANT_CATEGORY_RISK: Readonly<Record<string, number>> = Object.freeze(Object.assign(Object.create(null) as Record<string, number>, {
  grocery: 0.05,
  restaurant: 0.1,
  fuel: 0.1,
  pharmacy: 0.05,
  utilities: 0.05,
  retail: 0.2,
  travel: 0.4,
  online_services: 0.4,
  electronics: 0.7,
  jewelry: 0.8,
  gift_cards: 0.9,
  crypto: 0.9,
  gambling: 0.8,
  money_transfer: 0.85,
}));

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
