import type { OperatorFunction } from 'rxjs';
import { SluiceError } from '../core/errors.ts';
import { requireOperatorContext } from '../core/engine/operatorContext.ts';
import { partitionScope } from '../core/partition.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import type { MapState, MapStateDescriptor, ValueState, ValueStateDescriptor } from '../core/state/keyedState.ts';
import { operate, type StageOptions } from './internal/operate.ts';

/** The state handle an update function receives, by descriptor kind. */
export type StateHandle<D> = D extends ValueStateDescriptor<infer T> ? ValueState<T> : D extends MapStateDescriptor<infer V> ? MapState<V> : never;

/**
 * Reads and updates keyed state for each record: `update` sees the state of the record's key
 * (within its source partition) and returns the new value for the record. State is part of
 * every checkpoint, moves with its partition, and is restored after a crash.
 *
 * @example
 * const history = valueState<UserHistory>('user-history');
 * transactions.pipe(
 *   keyBy((tx) => tx.userId),
 *   withState(history, (tx, state) => {
 *     const h = state.get() ?? emptyHistory();
 *     state.update(updateHistory(h, tx));
 *     return { tx, features: computeFeatures(tx, h) };
 *   }),
 * )
 */
export function withState<A, B, D extends ValueStateDescriptor<unknown> | MapStateDescriptor<unknown>>(
  descriptor: D,
  update: (value: A, state: StateHandle<D>, record: Envelope<A>) => B,
  options?: StageOptions,
): OperatorFunction<Envelope<A>, Envelope<B>> {
  // Keyed state is a stage of its own in traces, named after the state unless told otherwise.
  return operate<Envelope<A>, Envelope<B>>('withState', { stage: descriptor.name, ...options }, () => {
    const store = requireOperatorContext('withState').state;
    const handle = (descriptor.kind === 'value' ? store.value(descriptor as ValueStateDescriptor<unknown>) : store.map(descriptor as MapStateDescriptor<unknown>)) as StateHandle<D>;
    return {
      next: (record, emit) => {
        if (record.key === undefined) throw new SluiceError(`state "${descriptor.name}" needs keyed records: put keyBy(...) before withState(...), or give the input a key`);
        store.setCurrentKey(stateScope(record), record.key);
        emit(withValue(record, update(record.value, handle, record)));
      },
    };
  });
}

/** State is scoped by source partition so it can move with the partition. */
export function stateScope(record: Envelope<unknown>): string {
  return partitionScope(record.position.topic, record.position.partition);
}
