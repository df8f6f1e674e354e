import { asyncScheduler, Observable, type OperatorFunction } from 'rxjs';
import { describeError, requirePositiveInteger, StageError } from '../core/errors.ts';
import { requireOperatorContext } from '../core/engine/operatorContext.ts';
import { OrderedScoring } from './internal/orderedScoring.ts';
import type { EnrichCallTrace } from '../core/instrumentation.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import { CallGuard, type EnrichBreakerOptions, type EnrichRetryOptions } from './enrichPolicy.ts';
import type { StageOptions } from './internal/operate.ts';
import { batchConfig, Batcher, type Batch, type MicroBatchOptions } from './microBatch.ts';

/** What the remote call of one batch gets besides the values. */
export interface EnrichCallContext {
  /** Aborted when the request times out: pass it to fetch. */
  readonly signal: AbortSignal;
  /** W3C trace context for the request (the enrich span, else the first record's trace): send it as a header. */
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
}

/** A result that says this one record could not be enriched (a bad feature row): it falls back with a dead letter giving `reason`. */
export class RecordFailure {
  constructor(readonly reason: string) {}
}

export interface EnrichOptions<T, R, B> {
  /** One request for a batch: gives one result (or a RecordFailure) per value, in the same order. Throw a `SluiceError` with `retriable: true` for failures worth retrying. */
  readonly call: (values: readonly T[], context: EnrichCallContext) => Promise<ReadonlyArray<R | RecordFailure>>;
  /** The output value from the input value and its result. */
  readonly output: (value: T, result: R) => B;
  /** The safe default when the call fails, times out or the breaker is open; the record also gets a dead letter saying why. */
  readonly fallback: (value: T, reason: string) => B;
  /** Batching of the records (one request per batch). Default: up to 512 records, cut when the pipeline is idle. */
  readonly batch?: MicroBatchOptions;
  /** Requests under way at once. Batches beyond it wait, holding their records in flight, so a slow service slows the source. Default 4. */
  readonly concurrency?: number;
  /** One attempt taking longer fails (retriable). Default 1000 ms. */
  readonly timeoutMs?: number;
  /** Retries of retriable failures, with exponential backoff. Default 3 attempts from 50 ms. */
  readonly retry?: EnrichRetryOptions;
  /** The circuit breaker, or false for none. Default: opens at 50 % failures of the last 20 requests, half-opens after 10 s. */
  readonly breaker?: EnrichBreakerOptions | false;
}

/**
 * Calls a remote service for records, one request per batch: the enricher pattern. It batches
 * the records itself (as `infer` does), runs up to `concurrency` requests at once, and keeps the
 * other batches waiting with their records in flight, so the job's in-flight budget fills and
 * the source pauses when the service is slow. Each request has a timeout, retriable failures are
 * retried with backoff, and a circuit breaker stops calling a failing service for a while.
 * Records whose request failed get `fallback` and a dead letter with the reason; results leave
 * in arrival order, so per-key order holds.
 *
 * @example
 * featured.pipe(
 *   enrich({
 *     call: (values, { signal }) => rulesApi.check(values, signal),
 *     output: (value, verdict) => ({ ...value, verdict }),
 *     fallback: (value) => ({ ...value, verdict: 'review' }),
 *     timeoutMs: 500,
 *   }),
 * )
 */
export function enrich<T, R, B>(options: EnrichOptions<T, R, B>, stageOptions?: StageOptions): OperatorFunction<Envelope<T> | Batch<T>, Envelope<B>> {
  const timeoutMs = requirePositiveInteger('timeoutMs', options.timeoutMs ?? 1000);
  const concurrency = requirePositiveInteger('concurrency', options.concurrency ?? 4);
  const batching = batchConfig(options.batch ?? {});
  if (typeof options.call !== 'function' || typeof options.fallback !== 'function') {
    throw new StageError('enrich', undefined, new Error('enrich needs call (the request for a batch) and fallback (the safe default when it fails)'));
  }

  return (source) =>
    new Observable<Envelope<B>>((subscriber) => {
      const ctx = requireOperatorContext('enrich');
      const stage = ctx.uniqueStage(stageOptions?.stage ?? 'enrich');
      const instrumentation = ctx.instrumentation;
      const guard = new CallGuard(stage, { timeoutMs, retry: options.retry ?? {}, breaker: options.breaker ?? {} }, ctx.clock, {
        onBreaker: (state) => instrumentation.emit('enrich.breaker', { stage, state }),
      });
      instrumentation.emit('enrich.breaker', { stage, state: guard.breakerState });

      const fallBack = (record: Envelope<T>, reason: string): Envelope<B> => {
        // The record gets the safe default AND a dead letter saying why: keep it open for both.
        record.ticket.retain();
        ctx.deadLetter(record, reason, stage, { alsoOutput: true });
        return withValue(record, options.fallback(record.value, reason));
      };

      const run = async (batch: Batch<T>): Promise<Envelope<B>[]> => {
        if (instrumentation.wants('batch.formed')) instrumentation.emit('batch.formed', { stage, records: batch.records, waitedMs: batch.closedAt - batch.openedAt });
        const records = batch.records;
        const call: EnrichCallTrace = { traceparent: undefined };
        const startedAt = performance.now();
        instrumentation.emit('enrich.call', { stage, records, startedAt, call });
        const first = records[0]?.trace;
        const traceparent = call.traceparent ?? first?.traceparent;
        const values = records.map((record) => record.value);
        const outcome = await guard.run(async (signal) => {
          const results = await options.call(values, { signal, traceparent, tracestate: first?.tracestate });
          if (results.length !== values.length) throw new StageError(stage, records[0]?.position, new Error(`call gave ${results.length} results for ${values.length} values — it must give one per value, in order`));
          return results;
        }, (attempt, delayMs, failure) => instrumentation.emit('enrich.retry', { stage, call, attempt, delayMs, error: describeError(failure) }));
        let out: Envelope<B>[];
        let error: string | undefined;
        let fallbacks = 0;
        if (outcome.ok) {
          out = records.map((record, i) => {
            const result = outcome.value[i]!;
            if (!(result instanceof RecordFailure)) return withValue(record, options.output(record.value, result));
            fallbacks += 1;
            return fallBack(record, `${stage}: ${result.reason}`);
          });
        } else {
          fallbacks = records.length;
          error = describeError(outcome.error);
          const reason = `${stage}: ${error}`;
          out = records.map((record) => fallBack(record, reason));
        }
        instrumentation.emit('enrich.done', { stage, call, records, durationMs: performance.now() - startedAt, attempts: outcome.attempts, fallbacks, error });
        return out;
      };

      // One request per batch, never merged (maxRows 1): ordered, at most `concurrency` at once.
      const ordered = new OrderedScoring<T, B>(run, concurrency, 1, subscriber, stage);
      const batcher = new Batcher<T>(batching, ctx.scheduler ?? asyncScheduler);
      const subscription = source.subscribe({
        next: (item) => {
          if ((item as Batch<T>).kind === 'batch') ordered.add(item as Batch<T>, false);
          else batcher.next(item as Envelope<T>, (batch) => ordered.add(batch, false));
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          batcher.complete((batch) => ordered.add(batch, false));
          ordered.end();
        },
      });
      return () => {
        subscription.unsubscribe();
        batcher.finalize();
      };
    });
}
