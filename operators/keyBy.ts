import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/record.ts';
import { withKey } from '../core/record.ts';
import { operate, type StageOptions } from './internal/operate.ts';

/**
 * Sets each record's key: it scopes keyed state and per-key order.
 *
 * @example
 * transactions.pipe(keyBy((tx) => tx.userId))
 */
export function keyBy<A>(selectKey: (value: A, record: Envelope<A>) => string, options?: StageOptions): OperatorFunction<Envelope<A>, Envelope<A>> {
  return operate<Envelope<A>, Envelope<A>>('keyBy', options, () => ({
    next: (record, emit) => emit(withKey(record, selectKey(record.value, record))),
  }));
}
