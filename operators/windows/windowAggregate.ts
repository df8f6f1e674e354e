import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { operatorContext } from '../../core/engine/operatorContext.ts';
import { StageError } from '../../core/errors.ts';
import type { Envelope } from '../../core/record.ts';
import { systemClock } from '../../core/clock.ts';
import type { TimestampExtractor } from '../../core/time/timestampExtractor.ts';
import type { StageOptions } from '../internal/operate.ts';
import type { AggregateFunction } from './aggregateFunction.ts';
import type { WindowAssigner } from './windowAssigner.ts';
import { WindowOperator, type WindowOperatorSnapshot } from './windowOperator.ts';
import type { WindowOutput } from './windowOutput.ts';

/** What a windowed aggregation is: which windows, how records fold, and how late they may be. */
export interface WindowAggregateOptions<T, Acc, R> {
  /** Which windows a record belongs to: `new TumblingEventTimeWindows(60_000)`, sliding or sessions. */
  readonly assigner: WindowAssigner;
  /** Folds records into each window's accumulator; `merge` is needed for sessions. */
  readonly aggregate: AggregateFunction<T, Acc, R>;
  /** How far behind the newest event time of its partition a record may arrive and still be on time. Default 0. */
  readonly maxOutOfOrdernessMs?: number;
  /** A partition with no record for this long (processing time) stops holding the watermark back. */
  readonly idleTimeoutMs?: number;
  /** How long after the watermark passed a window's end late records still update it. Default 0. */
  readonly allowedLatenessMs?: number;
  /** Event time of a value; the record's event time by default. */
  readonly timestamp?: TimestampExtractor<T>;
  /** Runs the idle timers; the job's scheduler by default (tests may pass a TestScheduler). */
  readonly scheduler?: SchedulerLike;
}

/**
 * Keyed event-time windows: records in, window results out — and, in the same stream with
 * `kind: 'late'`, the side output of records too late for any window (route it with `routeLate`).
 * The windows are part of every checkpoint under the stage's name. At the real end of a bounded
 * input (or a `--drain` stop) every open window fires; a stop that will be resumed keeps them in
 * the checkpoint instead, so a restart continues them exactly.
 *
 * @example
 * transactions.pipe(
 *   keyBy((tx) => tx.merchantId),
 *   windowAggregate({ assigner: new TumblingEventTimeWindows(60_000), aggregate: merchantStats(),
 *                     maxOutOfOrdernessMs: 5_000, idleTimeoutMs: 10_000, allowedLatenessMs: 30_000 }),
 * )
 */
export function windowAggregate<T, Acc, R>(options: WindowAggregateOptions<T, Acc, R> | WindowOperator<T, Acc, R>, stageOptions?: StageOptions): OperatorFunction<Envelope<T>, Envelope<WindowOutput<R, T>>> {
  // Not built on `operate`: the idle timer runs outside `next`, and its errors must still reach
  // the subscriber rather than escape as an uncaught exception.
  return (source) =>
    new Observable<Envelope<WindowOutput<R, T>>>((subscriber) => {
      const ctx = operatorContext();
      const stage = ctx?.uniqueStage(stageOptions?.stage ?? 'windows') ?? stageOptions?.stage ?? 'windows';
      const given = options instanceof WindowOperator ? undefined : options;
      const scheduler = given?.scheduler ?? ctx?.scheduler ?? asyncScheduler;
      const windows =
        given === undefined
          ? (options as WindowOperator<T, Acc, R>)
          : new WindowOperator<T, Acc, R>({
              assigner: given.assigner,
              aggregate: given.aggregate,
              watermarks: { maxOutOfOrdernessMs: given.maxOutOfOrdernessMs ?? 0, idleTimeoutMs: given.idleTimeoutMs, clock: ctx?.clock ?? (given.scheduler === undefined ? systemClock : { now: () => scheduler.now() }) },
              allowedLatenessMs: given.allowedLatenessMs ?? 0,
              ...(given.timestamp === undefined ? {} : { timestamp: given.timestamp }),
            });
      // Windows checkpoint themselves; results not yet written hold a checkpoint back.
      ctx?.checkpointed(stage, {
        snapshot: (scopes) => windows.snapshot(scopes),
        restore: (snapshot) => windows.restore(snapshot as WindowOperatorSnapshot),
        quiescent: () => windows.pendingResults === 0,
        dropScope: (scope) => windows.dropScope(scope),
      });
      const fail = (error: unknown, record?: Envelope<T>) => subscriber.error(new StageError(stage, record?.position, error));
      const emit = (output: Envelope<WindowOutput<R, T>>) => subscriber.next(output);
      let timer: Subscription | undefined;
      const arm = () => {
        if (timer !== undefined) return;
        const delay = windows.nextTimerDelay();
        if (delay === undefined) return;
        timer = scheduler.schedule(() => {
          timer = undefined;
          try {
            windows.onProcessingTime(emit);
            arm();
          } catch (error) {
            fail(error);
          }
        }, delay);
      };
      const subscription = source.subscribe({
        next: (record) => {
          try {
            windows.process(record, emit);
            arm();
          } catch (error) {
            fail(error, record);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          timer?.unsubscribe();
          timer = undefined;
          try {
            windows.finish(emit, ctx?.atEnd());
            subscriber.complete();
          } catch (error) {
            fail(error);
          }
        },
      });
      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
      };
    });
}
