import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import { operate, type StageOptions } from './internal/operate.ts';

/**
 * Maps each record's value, keeping its envelope (key, event time, position, trace). A throw
 * ends the job with one line naming the stage and the record, unless the stage says
 * `onError: 'dead-letter'`.
 *
 * @example
 * transactions.pipe(map((tx) => tx.amount * 100))
 * scored.pipe(map(({ tx, prediction }) => decide(tx, prediction), { stage: 'decision' }))
 * raw.pipe(map((text) => parseStrict(text), { onError: 'dead-letter' }))
 */
export function map<A, B>(project: (value: A, record: Envelope<A>) => B, options?: StageOptions): OperatorFunction<Envelope<A>, Envelope<B>> {
  return operate<Envelope<A>, Envelope<B>>('map', options, () => ({
    next: (record, emit) => emit(withValue(record, project(record.value, record))),
  }));
}
