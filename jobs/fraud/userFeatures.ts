import { pipe, type OperatorFunction } from 'rxjs';
import type { Envelope } from '../../core/record.ts';
import { valueState } from '../../core/state/keyedState.ts';
import { keyBy } from '../../operators/keyBy.ts';
import { withState } from '../../operators/withState.ts';
import { computeFeatures, emptyHistory, updateHistory, type UserHistory } from './features.ts';
import type { Transaction } from './transactions.ts';

/** A transaction with the feature vector computed from its user's history. */
export interface FeaturedTransaction {
  tx: Transaction;
  features: Float32Array;
}

const WEEK_MS = 7 * 24 * 3600_000;

/** A user's recent transactions; users idle for a week of processing time are forgotten. */
export const userHistory = valueState<UserHistory>('user-history', { ttlMs: WEEK_MS });

/**
 * The streaming side of the feature definitions: keys transactions by user and computes each
 * one's features from the user's history in keyed state, then adds it to the history. It calls
 * the same `computeFeatures`/`updateHistory` as the offline backfill, so training and serving
 * cannot disagree.
 *
 * @example
 * transactions.pipe(userFeatures(), infer({ ... }))
 */
export function userFeatures(): OperatorFunction<Envelope<Transaction>, Envelope<FeaturedTransaction>> {
  return pipe(
    keyBy((tx: Transaction) => tx.userId),
    withState(
      userHistory,
      (tx: Transaction, state) => {
        const history = state.get() ?? emptyHistory();
        // Features see only the user's past; then the transaction joins it.
        const features = computeFeatures(tx, history);
        state.update(updateHistory(history, tx));
        return { tx, features };
      },
      { stage: 'features' },
    ),
  );
}
