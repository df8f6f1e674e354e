/**
 * The fraud model's ten features declared once as a feature view (core/features), so the job
 * (keyed state, userFeatures.ts), the backfill, the online store (Redis) and the skew check all
 * run the same code. Gives bit-for-bit the vectors of the hand-written features the model was
 * trained with (kept as a test oracle in test/jobs/fraud/referenceFeatures.ts; a test checks it
 * on the generator's stream).
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

/** What the view keeps per user in keyed state (plain JSON, bounded). */
export type FraudUserState = ReturnType<typeof fraudFeatures.initial>;

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
