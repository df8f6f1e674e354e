import { Observable, type OperatorFunction } from 'rxjs';
import { describeError, requirePositiveInteger } from '../core/errors.ts';
import type { InferenceResult } from '../core/inference.ts';
import type { JobContext } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import type { Batch } from './microBatch.ts';

/** What the model said about one record. */
export interface Prediction {
  readonly score: number;
  readonly modelVersion: string;
  /** True when the model failed and `fallbackScore` stands in for its answer. */
  readonly fallback: boolean;
}

export interface InferOptions<T, B> {
  /** Path of the ONNX model (input `[batch, columns]` float32, output `[batch, 1]`). */
  model: string;
  columns: number;
  /** The feature vector of a value; non-finite features send the record to the dead-letter sink. */
  features: (value: T) => ArrayLike<number>;
  /** The output value built from the input value and the prediction. */
  output: (value: T, prediction: Prediction) => B;
  /** The safe default when the model fails or times out (for fraud: 1, flag for review). */
  fallbackScore: number;
  /** A batch that takes longer is abandoned (its worker is stopped) and falls back. */
  timeoutMs?: number;
  /** Batches scored at once; defaults to twice the worker count. */
  concurrency?: number;
  stage?: string;
}

/**
 * Scores micro-batches with an ONNX model on the worker pool. Several batches run at once on
 * different workers, but results leave in the order the batches arrived, so per-key order holds
 * with any number of workers. On a model error or timeout every record of the batch gets the
 * fallback score (and is marked `fallback`) and a dead-letter entry; the job goes on.
 *
 * @example
 * pipe(
 *   microBatch({ maxSize: 256, maxWaitMs: 5 }),
 *   infer(ctx, { model: 'models/fraud-v1.onnx', columns: 10, features: (r) => r.features, fallbackScore: 1,
 *                output: (r, p) => ({ ...r, score: p.score, modelVersion: p.modelVersion }) }),
 * )
 */
export function infer<T, B>(ctx: JobContext, options: InferOptions<T, B>): OperatorFunction<Batch<T>, Envelope<B>> {
  const columns = requirePositiveInteger('columns', options.columns);
  const concurrency = requirePositiveInteger('concurrency', options.concurrency ?? ctx.inference.workers * 2);
  const timeoutMs = requirePositiveInteger('timeoutMs', options.timeoutMs ?? 5000);
  const stage = options.stage ?? 'infer';
  const model = ctx.inference.model(options.model);
  const instrumentation = ctx.instrumentation;

  const score = async (batch: Batch<T>): Promise<Envelope<B>[]> => {
    if (instrumentation.wants('batch.formed')) instrumentation.emit('batch.formed', { stage, records: batch.records, waitedMs: batch.closedAt - batch.openedAt });
    const records: Envelope<T>[] = [];
    const features = new Float32Array(batch.records.length * columns);
    for (const record of batch.records) {
      const problem = writeRow(options.features(record.value), features, records.length * columns, columns);
      if (problem === undefined) records.push(record);
      else ctx.deadLetter(record, problem, stage);
    }
    if (records.length === 0) return [];
    const startedAt = performance.now();
    let result: InferenceResult | undefined;
    let failure: string | undefined;
    try {
      result = await model.run({ features: records.length * columns === features.length ? features : features.slice(0, records.length * columns), rows: records.length, columns, timeoutMs });
    } catch (error) {
      failure = describeError(error);
    }
    if (instrumentation.wants('inference.done')) {
      instrumentation.emit('inference.done', {
        stage,
        model: options.model,
        records,
        startedAt,
        durationMs: performance.now() - startedAt,
        scores: result?.scores,
        modelVersion: result?.modelVersion,
        error: failure,
        worker: result?.worker,
      });
    }
    const out: Envelope<B>[] = new Array(records.length);
    for (let i = 0; i < records.length; i += 1) {
      const record = records[i]!;
      const value = result?.scores[i];
      if (result !== undefined && value !== undefined && Number.isFinite(value)) {
        out[i] = withValue(record, options.output(record.value, { score: value, modelVersion: result.modelVersion, fallback: false }));
      } else {
        // The record gets the safe default AND a dead letter saying why: keep it open for both.
        record.ticket.retain();
        ctx.deadLetter(record, failure ?? `model returned a non-finite score (${String(value)})`, stage, { alsoOutput: true });
        out[i] = withValue(record, options.output(record.value, { score: options.fallbackScore, modelVersion: result?.modelVersion ?? 'fallback', fallback: true }));
      }
    }
    return out;
  };

  return (source) => new Observable<Envelope<B>>((subscriber) => orderedScoring(source, subscriber, score, concurrency));
}

/** Runs up to `concurrency` batches at once and emits their records in arrival order. */
function orderedScoring<T, B>(
  source: Observable<Batch<T>>,
  subscriber: { next(value: Envelope<B>): void; error(error: unknown): void; complete(): void },
  score: (batch: Batch<T>) => Promise<Envelope<B>[]>,
  concurrency: number,
): () => void {
  const running: Array<{ output: Envelope<B>[] | undefined }> = [];
  const waiting: Batch<T>[] = [];
  let active = 0;
  let inputDone = false;
  let closed = false;

  const flush = () => {
    while (running.length > 0 && running[0]!.output !== undefined) {
      for (const record of running.shift()!.output!) subscriber.next(record);
    }
    if (inputDone && running.length === 0 && waiting.length === 0 && !closed) {
      closed = true;
      subscriber.complete();
    }
  };
  const start = (batch: Batch<T>) => {
    active += 1;
    const slot: { output: Envelope<B>[] | undefined } = { output: undefined };
    running.push(slot);
    score(batch).then(
      (output) => {
        slot.output = output;
        active -= 1;
        if (waiting.length > 0) start(waiting.shift()!);
        flush();
      },
      (error: unknown) => {
        closed = true;
        subscriber.error(error);
      },
    );
  };
  const subscription = source.subscribe({
    next: (batch) => (active < concurrency ? start(batch) : waiting.push(batch)),
    error: (error: unknown) => subscriber.error(error),
    complete: () => {
      inputDone = true;
      flush();
    },
  });
  return () => subscription.unsubscribe();
}

/** Copies one feature vector into the batch; returns why it cannot be scored, if so. */
function writeRow(row: ArrayLike<number>, into: Float32Array, offset: number, columns: number): string | undefined {
  if (row.length !== columns) return `expected ${columns} features, got ${row.length}`;
  for (let i = 0; i < columns; i += 1) {
    const value = row[i]!;
    if (!Number.isFinite(value)) return `feature ${i} is not a finite number (${String(value)})`;
    into[offset + i] = value;
  }
  return undefined;
}
