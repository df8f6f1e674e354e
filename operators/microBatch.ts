import { asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { requireNonNegativeNumber, requirePositiveInteger } from '../core/errors.ts';
import type { Envelope } from '../core/record.ts';
import { recordOperator } from './internal/recordOperator.ts';

/** Records cut into one batch, with when the batch opened and closed (scheduler time, ms). */
export interface Batch<T> {
  readonly records: readonly Envelope<T>[];
  readonly openedAt: number;
  readonly closedAt: number;
}

export interface MicroBatchOptions {
  /** A batch is cut as soon as it holds this many records. */
  maxSize: number;
  /** ...or when its first record has waited this long. */
  maxWaitMs: number;
  /** Time source; tests pass a TestScheduler to run in virtual time. */
  scheduler?: SchedulerLike;
}

/**
 * Groups records into batches of at most `maxSize`, cut early when the oldest record has waited
 * `maxWaitMs`, and flushes the last partial batch when the input ends. Order is kept.
 *
 * @example
 * pipe(microBatch({ maxSize: 256, maxWaitMs: 5 }), infer(ctx, { ... }))
 */
export function microBatch<T>(options: MicroBatchOptions): OperatorFunction<Envelope<T>, Batch<T>> {
  const maxSize = requirePositiveInteger('maxSize', options.maxSize);
  const maxWaitMs = requireNonNegativeNumber('maxWaitMs', options.maxWaitMs);
  const scheduler = options.scheduler ?? asyncScheduler;
  return recordOperator<Envelope<T>, Batch<T>>(() => {
    let records: Envelope<T>[] = [];
    let openedAt = 0;
    let timer: Subscription | undefined;
    const cut = (emit: (batch: Batch<T>) => void) => {
      timer?.unsubscribe();
      timer = undefined;
      if (records.length === 0) return;
      const batch: Batch<T> = { records, openedAt, closedAt: scheduler.now() };
      records = [];
      emit(batch);
    };
    return {
      next: (record, emit) => {
        if (records.length === 0) {
          openedAt = scheduler.now();
          timer = scheduler.schedule(() => cut(emit), maxWaitMs);
        }
        records.push(record);
        if (records.length >= maxSize) cut(emit);
      },
      complete: (emit) => cut(emit),
      finalize: () => timer?.unsubscribe(),
    };
  });
}
