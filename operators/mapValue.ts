import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import { recordOperator } from './internal/recordOperator.ts';

/**
 * Maps each record's value, keeping its envelope (key, position, trace, completion). This is
 * how a plain RxJS `map` is written in a job. A throw fails the job: use `tryMap` for per-record
 * failures that should go to the dead-letter sink instead.
 *
 * @example
 * pipe(mapValue((tx: Transaction) => tx.amount * 100))
 */
export function mapValue<A, B>(project: (value: A, record: Envelope<A>) => B): OperatorFunction<Envelope<A>, Envelope<B>> {
  return recordOperator<Envelope<A>, Envelope<B>>(() => ({
    next: (record, emit) => emit(withValue(record, project(record.value, record))),
  }));
}
