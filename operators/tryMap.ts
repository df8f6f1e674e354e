import type { OperatorFunction } from 'rxjs';
import { describeError } from '../core/errors.ts';
import type { JobContext } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import { recordOperator } from './internal/recordOperator.ts';

/**
 * Maps each value; a record whose mapping throws goes to the dead-letter sink with the error
 * message as its reason, and the job goes on.
 *
 * @example
 * pipe(tryMap(ctx, 'parse-amount', (raw: RawTx) => ({ ...raw, amount: parseAmount(raw.amount) })))
 */
export function tryMap<A, B>(ctx: JobContext, stage: string, project: (value: A, record: Envelope<A>) => B): OperatorFunction<Envelope<A>, Envelope<B>> {
  return recordOperator<Envelope<A>, Envelope<B>>(() => ({
    next: (record, emit) => {
      let value: B;
      try {
        value = project(record.value, record);
      } catch (error) {
        ctx.deadLetter(record, describeError(error), stage);
        return;
      }
      emit(withValue(record, value));
    },
  }));
}
