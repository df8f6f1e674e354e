import { Observable, type OperatorFunction } from 'rxjs';
import { describeError, SluiceError, StageError } from '../../core/errors.ts';
import { operatorContext, type OperatorContext } from '../../core/engine/operatorContext.ts';
import type { Envelope } from '../../core/record.ts';

/** The second argument of every operator. */
export interface StageOptions {
  /** Names the stage in traces, metrics and errors; naming it also makes it a span of its own. */
  readonly stage?: string;
  /**
   * What a throw does: `fail` ends the job at once with one line naming the stage and the record
   * (the default), `dead-letter` sends the record to the dead-letter sink with the error and goes on.
   */
  readonly onError?: 'fail' | 'dead-letter';
}

/** What an operator does with each input and at the end of its input. */
export interface OperatorBody<A, B> {
  /** Handles one input; call `emit` zero or more times. A throw follows the stage's `onError`. */
  next(value: A, emit: (value: B) => void): void;
  /** Input finished: emit what is still held (a partial batch), then the stream completes. */
  complete?(emit: (value: B) => void): void;
  /** Clean-up when the subscriber goes away (timers). */
  finalize?(): void;
}

/** What an operator body is made from, when the pipeline is subscribed. */
export interface OperatorSetup {
  /** The job's context, or undefined when the operator runs in plain RxJS (a unit test). */
  readonly ctx: OperatorContext | undefined;
  /** The stage's name: the one given, or the operator's own, made unique in the job. */
  readonly stage: string;
  /** Lets the body fail the stream from a timer or a promise (errors outside `next`). */
  readonly fail: (error: unknown) => void;
}

/**
 * The one helper every Sluice operator is built on (RxJS's `operate`, for envelopes): it binds
 * the job's context when the pipeline is subscribed, routes a throw by the stage's `onError`
 * (fail fast with the record's position, or dead-letter it), reports named stages to tracing,
 * and runs the clean-up — so an operator file holds only what is special about it.
 *
 * @example
 * const double = (options?: StageOptions) =>
 *   operate<Envelope<number>, Envelope<number>>('double', options, () => ({ next: (r, emit) => emit(withValue(r, r.value * 2)) }));
 */
export function operate<A, B>(operator: string, options: StageOptions | undefined, create: (setup: OperatorSetup) => OperatorBody<A, B>): OperatorFunction<A, B> {
  const onError = options?.onError ?? 'fail';
  if (onError !== 'fail' && onError !== 'dead-letter') throw new SluiceError(`${operator}(): onError must be 'fail' or 'dead-letter' (got ${String(onError)})`);
  if (options?.stage !== undefined && (typeof options.stage !== 'string' || options.stage === '')) throw new SluiceError(`${operator}(): stage must be a non-empty string`);
  return (source) =>
    new Observable<B>((subscriber) => {
      const ctx = operatorContext();
      const stage = ctx === undefined ? (options?.stage ?? operator) : ctx.uniqueStage(options?.stage ?? operator);
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        subscriber.error(error);
      };
      const body = create({ ctx, stage, fail });
      const instrumentation = ctx?.instrumentation;
      const traced = options?.stage !== undefined;
      const emit = (value: B) => subscriber.next(value);
      const handle = (value: A, error: unknown) => {
        const record = isEnvelope(value) ? value : undefined;
        if (onError === 'dead-letter' && record !== undefined && ctx !== undefined) {
          ctx.deadLetter(record, `${describeError(error).split('\n')[0]}`, stage);
          return;
        }
        fail(error instanceof StageError ? error : new StageError(stage, record?.position, error));
      };
      const subscription = source.subscribe({
        next: (value) => {
          if (failed) return;
          try {
            if (traced && instrumentation !== undefined && instrumentation.wants('stage.done')) {
              const startedAt = performance.now();
              body.next(value, (out) => {
                if (isEnvelope(out)) instrumentation.emit('stage.done', { stage, record: out, startedAt, endedAt: performance.now() });
                emit(out);
              });
            } else {
              body.next(value, emit);
            }
          } catch (error) {
            handle(value, error);
          }
        },
        error: (error: unknown) => fail(error),
        complete: () => {
          if (failed) return;
          try {
            body.complete?.(emit);
            subscriber.complete();
          } catch (error) {
            fail(error instanceof SluiceError ? error : new StageError(stage, undefined, error));
          }
        },
      });
      return () => {
        subscription.unsubscribe();
        body.finalize?.();
      };
    });
}

/** True for a record envelope (has a position and a completion ticket). */
export function isEnvelope(value: unknown): value is Envelope<unknown> {
  return typeof value === 'object' && value !== null && 'ticket' in value && 'position' in value;
}
