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
  const instrumentation = ctx.instrumentation;
  return recordOperator<Envelope<A>, Envelope<B>>(() => ({
    next: (record, emit) => {
      const traced = instrumentation.wants('stage.done');
      const startedAt = traced ? performance.now() : 0;
      let value: B;
      try {
        value = project(record.value, record);
      } catch (error) {
        ctx.deadLetter(record, describeError(error), stage);
        return;
      }
      const result = withValue(record, value);
      if (traced) instrumentation.emit('stage.done', { stage, record: result, startedAt, endedAt: performance.now() });
      emit(result);
    },
  }));
}
