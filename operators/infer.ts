import { asyncScheduler, Observable, type OperatorFunction } from 'rxjs';
import { fileURLToPath } from 'node:url';
import { describeError, requirePositiveInteger, StageError } from '../core/errors.ts';
import { requireOperatorContext } from '../core/engine/operatorContext.ts';
import type { InferenceResult } from '../core/inference.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import { batchConfig, Batcher, type Batch, type MicroBatchOptions } from './microBatch.ts';
import type { StageOptions } from './internal/operate.ts';

/** What the model said about one record. */
export interface Prediction {
  readonly score: number;
  readonly modelVersion: string;
  /** True when the model failed and the fallback stands in for its answer. */
  readonly fallback: boolean;
}

export interface InferOptions<T, B> {
  /** The ONNX model: a path (relative to the working directory) or a file URL. See docs/models.md for the contract. */
  readonly model: string | URL;
  /** The feature vector of a value; a non-finite feature or a wrong length sends the record to the dead-letter sink. */
  readonly features: (value: T) => ArrayLike<number>;
  /** The output value from the input value and the prediction. */
  readonly output: (value: T, prediction: Prediction) => B;
  /** The safe default when the model fails or times out (for fraud: score 1, flag for review). */
  readonly fallback: { readonly score: number };
  /** Features per row; the first record's count when absent. */
  readonly columns?: number;
  /** A batch that takes longer falls back. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Batches scored at once; twice the worker count by default. */
  readonly concurrency?: number;
  /** Batching when `infer` is given records rather than batches (it batches them itself). */
  readonly batch?: MicroBatchOptions;
  /** While every slot is busy, waiting batches merge into one model call of at most this many rows. Default 2048. */
  readonly maxRows?: number;
}

/**
 * Scores records with an ONNX model on the worker pool. Give it records (it batches them, closing
 * a batch as soon as the pipeline is idle) or the batches of a `microBatch` before it. Several
 * batches run at once on different workers, and while all are busy the waiting ones merge, so
 * batches grow with the load. Results leave in arrival order, so per-key order holds. On a model
 * error or timeout each record of the batch gets the fallback (marked `fallback`) and a dead
 * letter saying why; the job goes on.
 *
 * @example
 * featured.pipe(
 *   infer({ model: 'models/fraud-v1.onnx', features: (f) => f.features, fallback: { score: 1 },
 *           output: (f, prediction) => ({ tx: f.tx, prediction }) }),
 * )
 */
export function infer<T, B>(options: InferOptions<T, B>, stageOptions?: StageOptions): OperatorFunction<Envelope<T> | Batch<T>, Envelope<B>> {
  const modelPath = typeof options.model === 'string' ? options.model : fileURLToPath(options.model);
  const timeoutMs = requirePositiveInteger('timeoutMs', options.timeoutMs ?? 5000);
  const maxRows = requirePositiveInteger('maxRows', options.maxRows ?? 2048);
  const fixedColumns = options.columns === undefined ? undefined : requirePositiveInteger('columns', options.columns);
  const batching = batchConfig(options.batch ?? {});
  if (!Number.isFinite(options.fallback?.score)) throw new StageError('infer', undefined, new Error('fallback.score must be a finite number (the safe default when the model fails)'));

  return (source) =>
    new Observable<Envelope<B>>((subscriber) => {
      const ctx = requireOperatorContext('infer');
      const stage = ctx.uniqueStage(stageOptions?.stage ?? 'infer');
      const model = ctx.inference.model(modelPath);
      const concurrency = requirePositiveInteger('concurrency', options.concurrency ?? ctx.inference.workers * 2);
      const instrumentation = ctx.instrumentation;

      const score = async (batch: Batch<T>): Promise<Envelope<B>[]> => {
        if (instrumentation.wants('batch.formed')) instrumentation.emit('batch.formed', { stage, records: batch.records, waitedMs: batch.closedAt - batch.openedAt });
        const columns = fixedColumns ?? options.features(batch.records[0]!.value).length;
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
          const rows = records.length * columns === features.length ? features : features.slice(0, records.length * columns);
          result = await model.run({ features: rows, rows: records.length, columns, timeoutMs });
        } catch (error) {
          failure = describeError(error);
        }
        if (instrumentation.wants('inference.done')) {
          instrumentation.emit('inference.done', {
            stage, model: modelPath, records, startedAt, durationMs: performance.now() - startedAt,
            scores: result?.scores, modelVersion: result?.modelVersion, error: failure, worker: result?.worker,
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
            out[i] = withValue(record, options.output(record.value, { score: options.fallback.score, modelVersion: result?.modelVersion ?? 'fallback', fallback: true }));
          }
        }
        return out;
      };

      const scoring = new OrderedScoring<T, B>(score, concurrency, maxRows, subscriber, stage);
      const batcher = new Batcher<T>(batching, ctx.scheduler ?? asyncScheduler);
      const subscription = source.subscribe({
        next: (item) => {
          if (isBatch(item)) scoring.add(item);
          else batcher.next(item, (batch) => scoring.add(batch));
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          batcher.complete((batch) => scoring.add(batch));
          scoring.end();
        },
      });
      return () => {
        subscription.unsubscribe();
        batcher.finalize();
      };
    });
}

function isBatch<T>(item: Envelope<T> | Batch<T>): item is Batch<T> {
  return (item as Batch<T>).kind === 'batch';
}

/** Runs up to `concurrency` batches at once, merges the waiting ones, and emits records in arrival order. */
class OrderedScoring<T, B> {
  readonly #running: Array<{ output: Envelope<B>[] | undefined }> = [];
  #waiting: Batch<T>[] = [];
  #active = 0;
  #inputDone = false;
  #closed = false;

  constructor(
    private readonly score: (batch: Batch<T>) => Promise<Envelope<B>[]>,
    private readonly concurrency: number,
    private readonly maxRows: number,
    private readonly subscriber: { next(value: Envelope<B>): void; error(error: unknown): void; complete(): void },
    private readonly stage: string,
  ) {}

  add(batch: Batch<T>): void {
    if (this.#active < this.concurrency) this.#start(batch);
    else this.#waiting.push(batch);
  }

  end(): void {
    this.#inputDone = true;
    this.#flush();
  }

  /** The waiting batches, merged (in order) into as few as fit in `maxRows`. */
  #takeWaiting(): Batch<T> {
    const first = this.#waiting.shift()!;
    if (this.#waiting.length === 0 || first.records.length >= this.maxRows) return first;
    const records = [...first.records];
    let closedAt = first.closedAt;
    while (this.#waiting.length > 0 && records.length + this.#waiting[0]!.records.length <= this.maxRows) {
      const next = this.#waiting.shift()!;
      for (const record of next.records) records.push(record);
      closedAt = next.closedAt;
    }
    return { kind: 'batch', records, openedAt: first.openedAt, closedAt };
  }

  #start(batch: Batch<T>): void {
    this.#active += 1;
    const slot: { output: Envelope<B>[] | undefined } = { output: undefined };
    this.#running.push(slot);
    this.score(batch).then(
      (output) => {
        slot.output = output;
        this.#active -= 1;
        if (this.#waiting.length > 0) this.#start(this.#takeWaiting());
        this.#flush();
      },
      (error: unknown) => {
        this.#closed = true;
        this.subscriber.error(error instanceof StageError ? error : new StageError(this.stage, batch.records[0]?.position, error));
      },
    );
  }

  #flush(): void {
    while (this.#running.length > 0 && this.#running[0]!.output !== undefined) {
      for (const record of this.#running.shift()!.output!) this.subscriber.next(record);
    }
    if (this.#inputDone && this.#running.length === 0 && this.#waiting.length === 0 && !this.#closed) {
      this.#closed = true;
      this.subscriber.complete();
    }
  }
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
