import { pipe, type OperatorFunction } from 'rxjs';
import type { FeatureRow } from '../../core/features/index.ts';
import type { Envelope } from '../../core/record.ts';
import { valueState } from '../../core/state/keyedState.ts';
import { keyBy } from '../../operators/keyBy.ts';
import { withState } from '../../operators/withState.ts';
import { featureVector, fraudFeatures, type FraudUserState } from './featureView.ts';
import type { Transaction } from './transactions.ts';

/** A transaction with the feature vector computed from its user's history, and the row it came from. */
export interface FeaturedTransaction {
  tx: Transaction;
  features: Float32Array;
  /** The same values as a feature row of `fraudFeatures` (what the online store and the skew check take). */
  row: FeatureRow;
}

const WEEK_MS = 7 * 24 * 3600_000;

/**
 * A user's state in the fraud feature view; users idle for a week of processing time are
 * forgotten. Named apart from the hand-written history it replaced (`user-history`), so an old
 * checkpoint is never read as the view's state.
 */
export const userHistory = valueState<FraudUserState>('fraud-user-features', { ttlMs: WEEK_MS });

/**
 * The streaming side of the fraud feature view: keys transactions by user and runs
 * `fraudFeatures.update` in keyed state — the same definition the offline backfill, the online
 * store and the skew check run — so training and serving cannot disagree.
 *
 * @example
 * transactions.pipe(userFeatures(), infer({ features: (f) => f.features, ... }))
 */
export function userFeatures(): OperatorFunction<Envelope<Transaction>, Envelope<FeaturedTransaction>> {
  return pipe(
    keyBy((tx: Transaction) => tx.userId),
    withState(
      userHistory,
      (tx: Transaction, state) => {
        // The row is computed from the user's past; then the transaction joins it (in place).
        const { state: next, row } = fraudFeatures.update(state.get() ?? fraudFeatures.initial(), tx);
        state.update(next);
        return { tx, features: featureVector(row), row };
      },
      { stage: 'features' },
    ),
  );
}
