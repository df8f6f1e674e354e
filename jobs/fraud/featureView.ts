/**
 * The fraud model's ten features declared once as a feature view (core/features), so the job
 * (keyed state), the backfill, the online store (Redis) and the skew check all run the same code.
 * Gives bit-for-bit the vectors of `computeFeatures`/`updateHistory` in features.ts (a test checks
 * it on the generator's stream).
 */
import {
  eventWindow,
  featureView,
  latest,
  mostFrequent,
  recentDistinct,
  runningMean,
  timeSince,
  topCounts,
  windowCount,
  type Duration,
  type FeatureRow,
} from '../../core/features/index.ts';
import { FEATURE_NAMES, MERCHANT_CATEGORY_RISK } from './features.ts';
import type { Transaction } from './transactions.ts';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const AVG_WINDOW = 100;
const DEFAULT_HOUR = 14; // a daytime centre for users with no history
const LIMIT = 5;

function clip(x: number): number {
  if (x !== x) return 0; // NaN
  return x > LIMIT ? LIMIT : x < -LIMIT ? -LIMIT : x;
}

function hourOfDay(timestamp: number): number {
  const h = (timestamp / HOUR_MS) % 24;
  return h < 0 ? h + 24 : h;
}

function hourAngle(timestamp: number): number {
  return (hourOfDay(timestamp) / 24) * 2 * Math.PI;
}

/**
 * The fraud features as a view. `window1h` is a parameter only so tests can plant a skew (a 1 h
 * window computed as 61 min); the job uses the default.
 *
 * @example
 * const view = fraudFeatureView();
 * const { row } = view.update(view.initial(), tx); // row.values.tx_count_1h, ...
 */
export function fraudFeatureView(options: { window1h?: Duration } = {}) {
  const window1h = options.window1h ?? '1h';
  return featureView({
    name: 'fraud_user',
    entity: { name: 'user', key: (tx: Transaction) => tx.userId },
    eventTime: (tx) => tx.timestamp,
    state: {
      recent: eventWindow<Transaction>({ retain: '24h', maxEvents: 500 }),
      last: latest((tx: Transaction) => tx.timestamp),
      amount: runningMean((tx: Transaction) => tx.amount, { window: AVG_WINDOW }),
      hourX: runningMean((_: Transaction, t) => Math.cos(hourAngle(t)), { window: AVG_WINDOW }),
      hourY: runningMean((_: Transaction, t) => Math.sin(hourAngle(t)), { window: AVG_WINDOW }),
      countries: topCounts((tx: Transaction) => tx.country, { max: 8 }),
      merchants: recentDistinct((tx: Transaction) => tx.merchantId, { max: 16 }),
    },
    features: {
      amount_log: { type: 'float32', ttl: '7d', default: 0, value: ({ event }) => clip(Math.log1p(event.amount) / 2 - 2) },
      amount_vs_user_avg: {
        type: 'float32',
        ttl: '7d',
        default: 0,
        value: ({ event, state, count }) => (count > 0 ? clip(Math.log((event.amount + 1) / (state.amount.mean + 1))) : 0),
      },
      tx_count_1h: { type: 'float32', ttl: '1h', default: 0, value: ({ state, time }) => clip(Math.log1p(windowCount(state.recent, time, window1h))) },
      tx_count_24h: { type: 'float32', ttl: '24h', default: 0, value: ({ state, time }) => clip(Math.log1p(windowCount(state.recent, time, '24h'))) },
      minutes_since_last_tx: {
        type: 'float32',
        ttl: '7d',
        default: Math.log1p(24 * 60) / 1.5,
        value: ({ state, time }) => {
          const since = timeSince(state.last, time);
          const minutes = since === undefined ? 24 * 60 : Math.min(since / MINUTE_MS, 24 * 60);
          return clip(Math.log1p(minutes) / 1.5);
        },
      },
      hour_deviation: {
        type: 'float32',
        ttl: '7d',
        default: 0,
        value: ({ state, time, count }) => {
          const { mean: x } = state.hourX;
          const { mean: y } = state.hourY;
          const usualHour = count > 0 && x * x + y * y > 1e-12 ? ((Math.atan2(y, x) / (2 * Math.PI)) * 24 + 24) % 24 : DEFAULT_HOUR;
          const dh = Math.abs(hourOfDay(time) - usualHour);
          return clip(Math.min(dh, 24 - dh) / 6);
        },
      },
      foreign_country: {
        type: 'float32',
        ttl: '7d',
        default: 0.5,
        value: ({ event, state, count }) => {
          const home = count > 0 ? mostFrequent(state.countries) : undefined;
          return home === undefined ? 0.5 : home === event.country ? 0 : 1;
        },
      },
      merchant_category_risk: { type: 'float32', ttl: '7d', default: 0.5, value: ({ event }) => MERCHANT_CATEGORY_RISK[event.merchantCategory] ?? 0.5 },
      card_not_present: { type: 'float32', ttl: '7d', default: 0, value: ({ event }) => (event.cardPresent ? 0 : 1) },
      new_merchant: { type: 'float32', ttl: '7d', default: 1, value: ({ event, state }) => (state.merchants.items.includes(event.merchantId) ? 0 : 1) },
    },
  });
}

/** The fraud job's feature view (one instance; it holds no state). */
export const fraudFeatures = fraudFeatureView();

/**
 * A row's values as the model's input vector (FEATURE_NAMES order).
 *
 * @example
 * const input = featureVector(row); // Float32Array(10)
 */
export function featureVector(row: FeatureRow, out: Float32Array = new Float32Array(FEATURE_NAMES.length)): Float32Array {
  for (let i = 0; i < FEATURE_NAMES.length; i++) out[i] = row.values[FEATURE_NAMES[i]!] as number;
  return out;
}
