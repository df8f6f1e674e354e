import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/record.ts';
import { operate, type StageOptions } from './internal/operate.ts';

/**
 * Keeps the records whose value passes; a record filtered out counts as done (its position can
 * be committed).
 *
 * @example
 * decisions.pipe(filter((d) => d.flagged))
 */
export function filter<A>(predicate: (value: A, record: Envelope<A>) => boolean, options?: StageOptions): OperatorFunction<Envelope<A>, Envelope<A>> {
  return operate<Envelope<A>, Envelope<A>>('filter', options, () => ({
    next: (record, emit) => {
      if (predicate(record.value, record)) emit(record);
      else record.ticket.release();
    },
  }));
}
