import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../../core/record.ts';
import { recordOperator } from '../internal/recordOperator.ts';
import type { LateRecord, WindowOutput, WindowResult } from './windowOutput.ts';

/**
 * Takes a window operator's side output out of the stream: results pass on, each late record is
 * handed to `onLate`, which owns its ticket — send it to the dead-letter route (done once
 * written) or release it yourself.
 *
 * @example
 * pipe(
 *   windowAggregate(windows),
 *   routeLate((late) => ctx.deadLetter(late, late.value.message, 'merchant-windows')),
 * )
 */
export function routeLate<R, T>(onLate: (late: Envelope<LateRecord<T>>) => void): OperatorFunction<Envelope<WindowOutput<R, T>>, Envelope<WindowResult<R>>> {
  return recordOperator<Envelope<WindowOutput<R, T>>, Envelope<WindowResult<R>>>(() => ({
    next: (record, emit) => {
      if (record.value.kind === 'window') emit(record as Envelope<WindowResult<R>>);
      else onLate(record as Envelope<LateRecord<T>>);
    },
  }));
}
