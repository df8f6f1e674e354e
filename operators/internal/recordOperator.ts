import { Observable, type OperatorFunction } from 'rxjs';

/** What a record operator does with each input and at the end of its input. */
export interface RecordOperatorBody<A, B> {
  /** Handles one input; call `emit` zero or more times. Throwing errors the stream. */
  next(value: A, emit: (value: B) => void): void;
  /** Input finished: emit what is still held (a partial batch), then the stream completes. */
  complete?(emit: (value: B) => void): void;
  /** Clean-up when the subscriber goes away (timers). */
  finalize?(): void;
}

/**
 * The one helper every Sluice operator is built on (RxJS's `operate`, for envelopes): it
 * subscribes to the source, routes thrown errors to the subscriber and runs the clean-up, so an
 * operator file holds only what is special about it.
 *
 * @example
 * const double = recordOperator<number, number>(() => ({ next: (n, emit) => emit(n * 2) }));
 */
export function recordOperator<A, B>(create: () => RecordOperatorBody<A, B>): OperatorFunction<A, B> {
  return (source) =>
    new Observable<B>((subscriber) => {
      const body = create();
      const emit = (value: B) => subscriber.next(value);
      const subscription = source.subscribe({
        next: (value) => {
          try {
            body.next(value, emit);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          try {
            body.complete?.(emit);
            subscriber.complete();
          } catch (error) {
            subscriber.error(error);
          }
        },
      });
      return () => {
        subscription.unsubscribe();
        body.finalize?.();
      };
    });
}
