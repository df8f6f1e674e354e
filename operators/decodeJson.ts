import type { OperatorFunction } from 'rxjs';
import { jsonDecoder } from '../core/decode.ts';
import { describeError } from '../core/errors.ts';
import type { JobContext } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import { recordOperator } from './internal/recordOperator.ts';

/**
 * Decodes JSON bytes (or text) and validates them with `parse` (a zod schema's `parse`, or any
 * function that throws on bad input). Malformed JSON and failed validation go to the
 * dead-letter sink with the reason; the original bytes travel with the dead letter.
 *
 * @example
 * pipe(decodeJson(ctx, (value) => transactionSchema.parse(value)))
 */
export function decodeJson<T>(ctx: JobContext, parse: (value: unknown) => T, stage = 'decode'): OperatorFunction<Envelope<Uint8Array | string>, Envelope<T>> {
  const instrumentation = ctx.instrumentation;
  const decode = jsonDecoder(parse);
  return recordOperator<Envelope<Uint8Array | string>, Envelope<T>>(() => ({
    next: (record, emit) => {
      const traced = instrumentation.wants('stage.done');
      const startedAt = traced ? performance.now() : 0;
      let value: T;
      try {
        value = decode(record.value);
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
