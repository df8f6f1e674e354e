import type { OperatorFunction } from 'rxjs';
import type { JobContext } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';
import { recordOperator } from './internal/recordOperator.ts';

/**
 * Dead-letter routing: a record for which `check` returns a reason goes to the dead-letter sink
 * with that reason; the others pass on unchanged.
 *
 * @example
 * pipe(deadLetterWhen(ctx, 'validate', (tx: Transaction) => (tx.amount < 0 ? 'negative amount' : undefined)))
 */
export function deadLetterWhen<A>(ctx: JobContext, stage: string, check: (value: A, record: Envelope<A>) => string | undefined): OperatorFunction<Envelope<A>, Envelope<A>> {
  return recordOperator<Envelope<A>, Envelope<A>>(() => ({
    next: (record, emit) => {
      const reason = check(record.value, record);
      if (reason === undefined) emit(record);
      else ctx.deadLetter(record, reason, stage);
    },
  }));
}
