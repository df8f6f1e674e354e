import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/record.ts';
import { withKey } from '../core/record.ts';
import { recordOperator } from './internal/recordOperator.ts';

/**
 * Sets each record's key, which scopes keyed state and per-key order. State is kept per source
 * partition, so (as in Kafka Streams) the input topic should be keyed by the same key.
 *
 * @example
 * pipe(keyBy((tx: Transaction) => tx.userId))
 */
export function keyBy<A>(selectKey: (value: A, record: Envelope<A>) => string): OperatorFunction<Envelope<A>, Envelope<A>> {
  return recordOperator<Envelope<A>, Envelope<A>>(() => ({
    next: (record, emit) => emit(withKey(record, selectKey(record.value, record))),
  }));
}
