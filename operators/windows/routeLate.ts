import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../../core/record.ts';
import { operate, type StageOptions } from '../internal/operate.ts';
import type { LateRecord, WindowOutput, WindowResult } from './windowOutput.ts';

/**
 * Splits a window stream: window results go on, late records go to `onLate` (and count as done)
 * — or, without it, to the dead-letter sink with the reason.
 *
 * @example
 * windowed.pipe(routeLate())                                        // late records → dead letters
 * windowed.pipe(routeLate((late) => lateCount.inc()))               // or a callback of your own
 */
export function routeLate<R, T>(onLate?: (late: Envelope<LateRecord<T>>) => void, options?: StageOptions): OperatorFunction<Envelope<WindowOutput<R, T>>, Envelope<WindowResult<R>>> {
  return operate<Envelope<WindowOutput<R, T>>, Envelope<WindowResult<R>>>('routeLate', options, ({ ctx, stage }) => ({
    next: (record, emit) => {
      if (record.value.kind === 'window') emit(record as Envelope<WindowResult<R>>);
      else if (onLate !== undefined) {
        onLate(record as Envelope<LateRecord<T>>);
        record.ticket.release();
      }
      else if (ctx !== undefined) ctx.deadLetter(record, record.value.message, stage);
      else throw new Error(`late record without a route: ${record.value.message}`);
    },
  }));
}
