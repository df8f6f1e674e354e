/**
 * The fraud features as functions over one user's state, for code that wants a vector without a
 * job (benchmarks, scripts). They are thin wrappers over the ONE definition in featureView.ts —
 * the same `fraudFeatures` view the job runs in keyed state and the backfill runs offline — so
 * nothing here can drift from what is served.
 */
import { FEATURE_COUNT, FEATURE_NAMES, featureVector, fraudFeatures, MERCHANT_CATEGORY_RISK, type FraudUserState } from './featureView.ts';
import type { Transaction } from './transactions.ts';

export { FEATURE_COUNT, FEATURE_NAMES, MERCHANT_CATEGORY_RISK };

/** What the features remember about one user: the view's keyed state (plain JSON, bounded). */
export type UserHistory = FraudUserState;

/**
 * A history with no transactions.
 *
 * @example
 * const history = emptyHistory(); // { count: 0, parts: { ... } }
 */
export function emptyHistory(): UserHistory {
  return fraudFeatures.initial();
}

/**
 * The ten features of `tx` given `history`, which must hold everything the user did BEFORE `tx`.
 * Does not change `history`. Writes into `out` when given (length >= 10).
 *
 * @example
 * const features = computeFeatures(tx, history); // Float32Array(10), order = FEATURE_NAMES
 * updateHistory(history, tx);
 */
export function computeFeatures(tx: Transaction, history: UserHistory, out: Float32Array = new Float32Array(FEATURE_COUNT)): Float32Array {
  if (out.length < FEATURE_COUNT) throw new RangeError(`out must have room for ${FEATURE_COUNT} features (got length ${out.length})`);
  return featureVector(fraudFeatures.rowOf(history, tx), out);
}

/**
 * Adds `tx` to `history`; mutates it in place and returns it (keyed state stores it back as is).
 *
 * @example
 * let history = emptyHistory();
 * for (const tx of txs) {
 *   const features = computeFeatures(tx, history);
 *   history = updateHistory(history, tx);
 * }
 */
export function updateHistory(history: UserHistory, tx: Transaction): UserHistory {
  return fraudFeatures.update(history, tx).state;
}
