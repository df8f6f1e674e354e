import type { OperatorFunction } from 'rxjs';
import { SluiceError } from '../core/errors.ts';
import type { JobContext } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import type { MapState, MapStateDescriptor, ValueState, ValueStateDescriptor } from '../core/state/keyedState.ts';
import { recordOperator } from './internal/recordOperator.ts';
import { partitionScope } from '../core/partition.ts';

/** The state handle an update function receives, by descriptor kind. */
export type StateHandle<D> = D extends ValueStateDescriptor<infer T> ? ValueState<T> : D extends MapStateDescriptor<infer V> ? MapState<V> : never;

/**
 * Reads and updates keyed state for each record: `update` sees the state of the record's key
 * (within its source partition) and returns the new value for the record. State survives
 * between records of the same key and is checkpointed with the source positions.
 *
 * @example
 * const history = valueState<UserHistory>('user-history');
 * pipe(
 *   keyBy((tx: Transaction) => tx.userId),
 *   withState(ctx, history, (tx, state) => {
 *     const h = state.get() ?? emptyHistory();
 *     const features = computeFeatures(tx, h);
 *     state.update(updateHistory(h, tx));
 *     return { tx, features };
 *   }),
 * )
 */
export function withState<A, B, D extends ValueStateDescriptor<unknown> | MapStateDescriptor<unknown>>(
  ctx: JobContext,
  descriptor: D,
  update: (value: A, state: StateHandle<D>, record: Envelope<A>) => B,
  stage = descriptor.name,
): OperatorFunction<Envelope<A>, Envelope<B>> {
  return recordOperator<Envelope<A>, Envelope<B>>(() => {
    const store = ctx.state;
    const handle = (descriptor.kind === 'value' ? store.value(descriptor as ValueStateDescriptor<unknown>) : store.map(descriptor as MapStateDescriptor<unknown>)) as StateHandle<D>;
    const instrumentation = ctx.instrumentation;
    return {
      next: (record, emit) => {
        if (record.key === undefined) {
          throw new SluiceError(`state "${descriptor.name}" needs keyed records: put keyBy(...) before withState(...)`);
        }
        const traced = instrumentation.wants('stage.done');
        const startedAt = traced ? performance.now() : 0;
        store.setCurrentKey(stateScope(record), record.key);
        const result = withValue(record, update(record.value, handle, record));
        if (traced) instrumentation.emit('stage.done', { stage, record: result, startedAt, endedAt: performance.now() });
        emit(result);
      },
    };
  });
}

/** State is scoped by source partition so it can move with the partition. */
export function stateScope(record: Envelope<unknown>): string {
  return partitionScope(record.position.topic, record.position.partition);
}
