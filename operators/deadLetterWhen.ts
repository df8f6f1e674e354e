import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/record.ts';
import { operate, type StageOptions } from './internal/operate.ts';

/**
 * Sends a record to the dead-letter sink when `check` gives a reason, and passes the others on.
 *
 * @example
 * transactions.pipe(deadLetterWhen((tx) => (tx.amount > 1e7 ? `amount ${tx.amount} is beyond any card limit` : undefined)))
 */
export function deadLetterWhen<A>(check: (value: A, record: Envelope<A>) => string | undefined, options?: StageOptions): OperatorFunction<Envelope<A>, Envelope<A>> {
  return operate<Envelope<A>, Envelope<A>>('deadLetterWhen', options, ({ ctx, stage }) => ({
    next: (record, emit) => {
      const reason = check(record.value, record);
      if (reason === undefined) emit(record);
      else if (ctx === undefined) throw new Error(reason);
      else ctx.deadLetter(record, reason, stage);
    },
  }));
}
