import { asyncScheduler, Observable, type OperatorFunction } from 'rxjs';
import { StageError } from '../../core/errors.ts';
import { operatorContext, type OperatorContext } from '../../core/engine/operatorContext.ts';
import type { Envelope } from '../../core/record.ts';
import { batchConfig, Batcher, type MicroBatchOptions } from '../microBatch.ts';

/** What a batch-at-a-time async stage does, made at subscribe time. */
export interface BatchStage<A, B> {
  /** Handles one micro-batch; resolves with its outputs in order. A rejection fails the stream. */
  batch(records: readonly Envelope<A>[]): Promise<Envelope<B>[]>;
  /** After the last batch is done, before the stream completes (flush, close connections). */
  end?(): Promise<void>;
  /** The subscriber went away early (an error or stop): release what `end` would have. */
  abort?(): void;
}

/**
 * The plumbing shared by the feature-store operators: cuts the input into micro-batches (the
 * `microBatch` batcher, adaptive by default), starts one async call per batch as soon as it is cut,
 * and emits each batch's records in arrival order once its own call is done, so a record is only
 * passed on (and can only be completed) after its batch's work.
 *
 * @example
 * batchedStage('materializeFeatures', 'materialize', {}, () => ({ batch: async (records) => records }))
 */
export function batchedStage<A, B>(
  operator: string,
  stageName: string,
  batching: MicroBatchOptions,
  create: (ctx: OperatorContext | undefined, stage: string) => BatchStage<A, B>,
): OperatorFunction<Envelope<A>, Envelope<B>> {
  const config = batchConfig(batching);
  return (source) =>
    new Observable<Envelope<B>>((subscriber) => {
      const ctx = operatorContext();
      const stage = ctx === undefined ? stageName : ctx.uniqueStage(stageName);
      const body = create(ctx, stage);
      const batcher = new Batcher<A>(config, batching.scheduler ?? ctx?.scheduler ?? asyncScheduler);
      let chain: Promise<void> = Promise.resolve();
      let failed = false;
      let finished = false;
      const fail = (error: unknown, record?: Envelope<unknown>, upstream = false) => {
        if (failed) return;
        failed = true;
        body.abort?.();
        // An upstream failure (a source, an earlier stage) passes through as it is: it is not this stage's.
        subscriber.error(upstream || error instanceof StageError ? error : new StageError(stage, record?.position, error));
      };
      const run = (batch: { records: readonly Envelope<A>[] }) => {
        // The call starts at once (so a slow store overlaps with the next batches and can
        // coalesce them); only the emission waits its turn, so records leave in arrival order.
        let work: Promise<Envelope<B>[]>;
        try {
          work = failed ? Promise.resolve([]) : body.batch(batch.records);
        } catch (error) {
          work = Promise.reject(error);
        }
        work.catch(() => undefined);
        chain = chain.then(async () => {
          if (failed) return;
          try {
            for (const out of await work) subscriber.next(out);
          } catch (error) {
            fail(error, batch.records[0]);
          }
        });
      };
      const subscription = source.subscribe({
        next: (record) => batcher.next(record, run),
        error: (error: unknown) => fail(error, undefined, true),
        complete: () => {
          batcher.complete(run);
          chain = chain.then(async () => {
            if (failed) return;
            try {
              await body.end?.();
              finished = true;
              subscriber.complete();
            } catch (error) {
              fail(error);
            }
          });
        },
      });
      return () => {
        subscription.unsubscribe();
        batcher.finalize();
        if (!finished && !failed) body.abort?.();
      };
    });
}
