import TinyQueue from 'tinyqueue';
import { z } from 'zod';
import { TransactionGenerator, type TransactionGeneratorOptions } from '../fraud/transactions.ts';

/** A late ground-truth label: a chargeback (fraud) or a confirmation that a transaction was genuine. */
export interface FraudLabel {
  transactionId: string;
  userId: string;
  isFraud: boolean;
  /** When the label became known (event time, ms since the epoch), hours after the transaction. */
  timestamp: number;
}

export const labelSchema = z.object({
  transactionId: z.string().min(1),
  userId: z.string().min(1),
  isFraud: z.boolean(),
  timestamp: z.number().int().nonnegative(),
});

/** What the label stream of a generated transaction stream looks like. */
export interface LabelOptions extends TransactionGeneratorOptions {
  /** Share of transactions that ever get a label, in (0, 1]. */
  readonly labelShare: number;
  /** A label arrives this long after its transaction at the earliest... */
  readonly minDelayMs: number;
  /** ...and at the latest (uniform in between). */
  readonly maxDelayMs: number;
}

/** A deterministic uniform [0, 1) of (seed, index, salt): which transactions get a label, and when. */
function unit(seed: number, index: number, salt: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35) ^ salt;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** Labels among the first `count` transactions: the generator's `count`, known without generating them. */
export function labelCount(count: number, options: Pick<LabelOptions, 'labelShare' | 'seed'>): number {
  let labelled = 0;
  for (let i = 0; i < count; i++) if (unit(options.seed ?? 42, i, 1) < options.labelShare) labelled++;
  return labelled;
}

/**
 * The delayed labels of the stream a `TransactionGenerator` with the same options makes: it
 * replays the transactions and gives each a label with probability `labelShare`, `minDelayMs`
 * to `maxDelayMs` later, in label-time order (a label is released once no later transaction can
 * produce an earlier one). So labels run hours of event time behind their transactions, and not
 * in transaction order — what an interval join has to cope with.
 *
 * @example
 * const labels = new LabelGenerator({ seed: 42, labelShare: 0.5, minDelayMs: 3_600_000, maxDelayMs: 40 * 3_600_000 });
 * labels.next(); // { transactionId: 'tx-42-17', userId: 'u0093', isFraud: false, timestamp: ... }
 */
export class LabelGenerator {
  readonly #transactions: TransactionGenerator;
  readonly #options: LabelOptions;
  readonly #seed: number;
  /** Min-heap of labels made and not yet released, by timestamp. */
  /** Labels not yet handed out, earliest first (a priority queue: tinyqueue). */
  readonly #pending = new TinyQueue<FraudLabel>([], (a, b) => a.timestamp - b.timestamp);
  #index = 0;
  #lastTransactionTime = -Infinity;

  constructor(options: LabelOptions) {
    if (!(options.labelShare > 0 && options.labelShare <= 1)) throw new RangeError(`labelShare must be in (0, 1] (got ${String(options.labelShare)})`);
    if (!(options.minDelayMs >= 0 && options.maxDelayMs >= options.minDelayMs)) throw new RangeError('label delays must satisfy 0 <= minDelayMs <= maxDelayMs');
    this.#transactions = new TransactionGenerator(options);
    this.#options = options;
    this.#seed = options.seed ?? 42;
  }

  next(): FraudLabel {
    // Transactions come in time order, so no label made later can be earlier than this bound.
    while (this.#pending.length === 0 || this.#pending.peek()!.timestamp > this.#lastTransactionTime + this.#options.minDelayMs) {
      const i = this.#index++;
      const tx = this.#transactions.next();
      this.#lastTransactionTime = tx.timestamp;
      if (unit(this.#seed, i, 1) >= this.#options.labelShare) continue;
      const delay = this.#options.minDelayMs + (this.#options.maxDelayMs - this.#options.minDelayMs) * unit(this.#seed, i, 2);
      this.#pending.push({ transactionId: tx.id, userId: tx.userId, isFraud: tx.isFraud === true, timestamp: Math.round(tx.timestamp + delay) });
    }
    return this.#pending.pop()!;
  }
}
