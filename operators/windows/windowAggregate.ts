import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Envelope } from '../../core/record.ts';
import type { WindowOperator } from './windowOperator.ts';
import type { WindowOutput } from './windowOutput.ts';

export interface WindowAggregateOptions {
  /** Runs the idle-partition timers; tests pass a TestScheduler to run in virtual time. */
  scheduler?: SchedulerLike;
}

/**
 * Keyed event-time windows in a pipe: records in, window results out — and, in the same
 * stream with `kind: 'late'`, the side output of records too late for any window. Route the side
 * output with {@link routeLate} (to the dead-letter route or a callback), or keep both kinds and
 * let a sink split them. The window state lives in the {@link WindowOperator} you pass, so a
 * checkpoint can snapshot it; use one operator instance per pipeline.
 *
 * Besides records, processing time drives it: when a source partition goes idle, a timer on
 * `scheduler` advances the watermark so windows still fire. At the end of the input every open
 * window fires (unless the operator was made with `atEnd: 'keep'`).
 *
 * @example
 * const windows = new WindowOperator({
 *   assigner: new TumblingEventTimeWindows(60_000),
 *   aggregate: reducing((a: number, b: number) => a + b),
 *   watermarks: { maxOutOfOrdernessMs: 5_000, idleTimeoutMs: 30_000, clock: ctx.clock },
 *   allowedLatenessMs: 10_000,
 * });
 * pipe(
 *   keyBy((tx: Transaction) => tx.merchantId),
 *   mapValue((tx) => tx.amount),
 *   windowAggregate(windows),
 *   routeLate((late) => ctx.deadLetter(late, late.value.message, 'windows')),
 * )
 */
export function windowAggregate<T, Acc, R>(windows: WindowOperator<T, Acc, R>, options: WindowAggregateOptions = {}): OperatorFunction<Envelope<T>, Envelope<WindowOutput<R, T>>> {
  const scheduler = options.scheduler ?? asyncScheduler;
  // Not built on recordOperator: the idle timer runs outside `next`, and its errors must still
  // reach the subscriber rather than escape as an uncaught exception.
  return (source) =>
    new Observable<Envelope<WindowOutput<R, T>>>((subscriber) => {
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
            subscriber.error(error);
          }
        }, delay);
      };
      const subscription = source.subscribe({
        next: (record) => {
          try {
            windows.process(record, emit);
            arm();
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          timer?.unsubscribe();
          timer = undefined;
          try {
            windows.finish(emit);
            subscriber.complete();
          } catch (error) {
            subscriber.error(error);
          }
        },
      });
      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
      };
    });
}
