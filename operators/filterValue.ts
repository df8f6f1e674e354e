import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/record.ts';
import { recordOperator } from './internal/recordOperator.ts';

/**
 * Keeps the records whose value passes the test. A dropped record is done at once (its offset
 * may be committed), which a plain RxJS `filter` would forget.
 *
 * @example
 * pipe(filterValue((tx: Transaction) => tx.amount > 0))
 */
export function filterValue<A>(predicate: (value: A, record: Envelope<A>) => boolean): OperatorFunction<Envelope<A>, Envelope<A>> {
  return recordOperator<Envelope<A>, Envelope<A>>(() => ({
    next: (record, emit) => {
      if (predicate(record.value, record)) emit(record);
      else record.ticket.release();
    },
  }));
}
