import type { AggregateFunction } from '../../operators/windows/aggregateFunction.ts';
import type { Transaction } from '../fraud/transactions.ts';
import { addToSketch, emptySketch, mergeSketches, sketchQuantile, type AmountSketch } from './amountSketch.ts';

/** What a merchant's window holds while it is open: counts and a sketch, never the transactions. */
export interface MerchantAccumulator {
  count: number;
  flagged: number;
  amountSum: number;
  amounts: AmountSketch;
}

/** A merchant's figures for one window. */
export interface MerchantStats {
  count: number;
  flagged: number;
  /** flagged / count. */
  flagRate: number;
  avgAmount: number;
  /** Within 1 % (see amountSketch.ts). */
  p50Amount: number;
  p95Amount: number;
}

/**
 * Per-merchant window statistics as an incremental aggregate. `isFlagged` decides what counts
 * as flagged; on the synthetic stream it is the ground truth `isFraud` (a scoring job would pass
 * the model's decision instead).
 *
 * @example
 * new WindowOperator({ assigner: new TumblingEventTimeWindows(60_000), aggregate: merchantStats(), ... })
 */
export function merchantStats(isFlagged: (tx: Transaction) => boolean = (tx) => tx.isFraud === true): AggregateFunction<Transaction, MerchantAccumulator, MerchantStats> {
  return {
    createAccumulator: () => ({ count: 0, flagged: 0, amountSum: 0, amounts: emptySketch() }),
    add: (tx, acc) => {
      acc.count += 1;
      if (isFlagged(tx)) acc.flagged += 1;
      acc.amountSum += tx.amount;
      addToSketch(acc.amounts, tx.amount);
      return acc;
    },
    getResult: (acc) => ({
      count: acc.count,
      flagged: acc.flagged,
      flagRate: acc.count === 0 ? 0 : acc.flagged / acc.count,
      avgAmount: acc.count === 0 ? 0 : round2(acc.amountSum / acc.count),
      p50Amount: round2(sketchQuantile(acc.amounts, 0.5) ?? 0),
      p95Amount: round2(sketchQuantile(acc.amounts, 0.95) ?? 0),
    }),
    merge: (a, b) => ({ count: a.count + b.count, flagged: a.flagged + b.flagged, amountSum: a.amountSum + b.amountSum, amounts: mergeSketches(a.amounts, b.amounts) }),
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
