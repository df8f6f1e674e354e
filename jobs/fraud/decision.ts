import type { Prediction } from '../../operators/infer.ts';
import type { Transaction } from './transactions.ts';

/** The seed's decision threshold: scores at or above it are flagged. */
export const FRAUD_THRESHOLD = 0.7;

/** Which serving pattern scored a decision: the model in the job (`infer`) or a model service (`enrich.model`). */
export type ServedBy = 'embedded' | 'enricher';

/** What the fraud job writes for every transaction it scores. */
export interface FraudDecision {
  transactionId: string;
  userId: string;
  amount: number;
  /** Event time of the transaction, ms since epoch. */
  timestamp: number;
  score: number;
  flagged: boolean;
  modelVersion: string;
  /** The serving path that scored it (the fallback included). */
  servedBy: ServedBy;
  /** True when the model failed and the safe default (flag for review) stands in. */
  fallback: boolean;
  /** Ground truth when the input carried it (synthetic data), for judging the model. */
  isFraud?: boolean;
}

/**
 * Turns a model prediction into the decision record. A fallback prediction is always flagged:
 * when the model cannot answer, a human reviews the transaction.
 *
 * @example
 * decide(tx, { score: 0.91, modelVersion: 'fraud-v1', fallback: false }, 0.7, 'enricher').flagged // true
 */
export function decide(tx: Transaction, prediction: Prediction, threshold = FRAUD_THRESHOLD, servedBy: ServedBy = 'embedded'): FraudDecision {
  const decision: FraudDecision = {
    transactionId: tx.id,
    userId: tx.userId,
    amount: tx.amount,
    timestamp: tx.timestamp,
    score: prediction.score,
    flagged: prediction.fallback || prediction.score >= threshold,
    modelVersion: prediction.modelVersion,
    servedBy,
    fallback: prediction.fallback,
  };
  if (tx.isFraud !== undefined) decision.isFraud = tx.isFraud;
  return decision;
}

/**
 * The name `sluice serve` gives a model setting's model: `models/fraud` and `models/fraud@1` are
 * `fraud`, `fraud-v1.onnx` is `fraud-v1` (what an enricher asks the service for).
 *
 * @example
 * serviceModelName('models/fraud@3'); // 'fraud'
 */
export function serviceModelName(model: string): string {
  return model.replace(/[\\/]+$/, '').replace(/^.*[\\/]/, '').replace(/@[^@]*$/, '').replace(/\.onnx$/, '');
}
