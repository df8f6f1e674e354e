import { asyncScheduler, Observable, type OperatorFunction } from 'rxjs';
import { fileURLToPath } from 'node:url';
import { describeError, requirePositiveInteger, StageError } from '../core/errors.ts';
import { requireOperatorContext } from '../core/engine/operatorContext.ts';
import type { InferenceRequest, InferenceResult, ModelOptions } from '../core/inference.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import { batchConfig, Batcher, type Batch, type MicroBatchOptions } from './microBatch.ts';
import type { StageOptions } from './internal/operate.ts';
import type { TensorInput } from './internal/inferRows.ts';

export type { TensorInput };
import { OrderedScoring } from './internal/orderedScoring.ts';
import { ShadowScoring } from './internal/shadowScoring.ts';
import { inputProblem, tensorsOf, writeRow } from './internal/inferRows.ts';

/** What the model said about one record. */
export interface Prediction {
  readonly score: number;
  readonly modelVersion: string;
  /** True when the model failed and the fallback stands in for its answer. */
  readonly fallback: boolean;
}

export interface InferOptions<T, B> {
  /**
   * The model: a registry (`models/fraud`: the pinned or newest valid version, swapped while the
   * job runs), a pinned version (`models/fraud@2`), or an .onnx file (a path or file URL).
   * See docs/models.md for the contract.
   */
  readonly model: string | URL;
  /**
   * A candidate scored on every batch beside the serving model, never changing the output
   * (`models/fraud@next` follows the registry's newest version); agreement goes to metrics.
   */
  readonly shadow?: string | URL | undefined;
  /** The decision threshold shadow flips are counted at; the model manifest's, else 0.5. */
  readonly shadowThreshold?: number;
  /** The feature vector of a value; a non-finite feature or a wrong length sends the record to the dead-letter sink. */
  readonly features: (value: T) => ArrayLike<number>;
  /** The model input the features feed (float32 [batch, columns]); its first input by default. */
  readonly featuresInput?: string;
  /** The model's other inputs, by tensor name. */
  readonly inputs?: Readonly<Record<string, TensorInput<T>>>;
  /** The output holding the score (e.g. `probability` beside a `label`); the first float output by default. */
  readonly scoreOutput?: string;
  /** The column of a [batch, k] score output; the last by default (the positive class of [p0, p1]). */
  readonly scoreColumn?: number;
  /** Held-out AUC a new registry version may lose against the serving one and still be swapped in. Default 0.01. */
  readonly maxAucDrop?: number;
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
 * Scores records with an ONNX model on the worker pool; every prediction names the version that
 * made it (`fraud@2`). A registry model is swapped between batches when a new version passes
 * validation or the registry is pinned to another (`sluice model use`). Give it records (it batches them, closing
 * a batch as soon as the pipeline is idle) or the batches of a `microBatch` before it. Several
 * batches run at once on different workers, and while all are busy the waiting ones merge, so
 * batches grow with the load. Results leave in arrival order, so per-key order holds. On a model
 * error or timeout each record of the batch gets the fallback (marked `fallback`) and a dead
 * letter saying why; the job goes on.
 *
 * @example
 * featured.pipe(
 *   infer({ model: 'models/fraud', shadow: 'models/fraud@next', features: (f) => f.features, fallback: { score: 1 },
 *           output: (f, prediction) => ({ tx: f.tx, prediction }) }), // prediction.modelVersion: 'fraud@1'
 * )
 */
export function infer<T, B>(options: InferOptions<T, B>, stageOptions?: StageOptions): OperatorFunction<Envelope<T> | Batch<T>, Envelope<B>> {
  const modelSpec = typeof options.model === 'string' ? options.model : fileURLToPath(options.model);
  const shadowSpec = options.shadow === undefined || options.shadow === '' ? undefined : typeof options.shadow === 'string' ? options.shadow : fileURLToPath(options.shadow);
  const extraInputs = options.inputs === undefined ? undefined : Object.entries(options.inputs);
  for (const [name, input] of extraInputs ?? []) requirePositiveInteger(`inputs.${name}.columns`, input.columns);
  const timeoutMs = requirePositiveInteger('timeoutMs', options.timeoutMs ?? 5000);
  const maxRows = requirePositiveInteger('maxRows', options.maxRows ?? 2048);
  const fixedColumns = options.columns === undefined ? undefined : requirePositiveInteger('columns', options.columns);
  const batching = batchConfig(options.batch ?? {});
  if (!Number.isFinite(options.fallback?.score)) throw new StageError('infer', undefined, new Error('fallback.score must be a finite number (the safe default when the model fails)'));

  return (source) =>
    new Observable<Envelope<B>>((subscriber) => {
      const ctx = requireOperatorContext('infer');
      const stage = ctx.uniqueStage(stageOptions?.stage ?? 'infer');
      const modelOptions: ModelOptions = {
        columns: fixedColumns, featuresInput: options.featuresInput, inputs: extraInputs?.map(([name]) => name),
        scoreOutput: options.scoreOutput, scoreColumn: options.scoreColumn, maxAucDrop: options.maxAucDrop,
      };
      const model = ctx.inference.model(modelSpec, modelOptions);
      const concurrency = requirePositiveInteger('concurrency', options.concurrency ?? ctx.inference.workers * 2);
      const instrumentation = ctx.instrumentation;
      const offLifecycle = model.onLifecycle?.((event) => {
        if (event.kind === 'swapped') instrumentation.emit('model.swapped', { stage, model: event.model, version: event.version, from: event.from });
        else instrumentation.emit('model.refused', { stage, model: event.model, version: event.version, reasons: event.reasons });
      });
      const shadow = shadowSpec === undefined ? undefined : new ShadowScoring(
        ctx.inference.model(shadowSpec, { ...modelOptions, role: 'shadow' }),
        () => options.shadowThreshold ?? model.threshold ?? 0.5,
        concurrency, stage, instrumentation,
      );

      const score = async (batch: Batch<T>): Promise<Envelope<B>[]> => {
        if (instrumentation.wants('batch.formed')) instrumentation.emit('batch.formed', { stage, records: batch.records, waitedMs: batch.closedAt - batch.openedAt });
        const columns = fixedColumns ?? options.features(batch.records[0]!.value).length;
        const records: Envelope<T>[] = [];
        const features = new Float32Array(batch.records.length * columns);
        for (const record of batch.records) {
          const problem = writeRow(options.features(record.value), features, records.length * columns, columns) ?? (extraInputs === undefined ? undefined : inputProblem(extraInputs, record.value));
          if (problem === undefined) records.push(record);
          else ctx.deadLetter(record, problem, stage);
        }
        if (records.length === 0) return [];
        const startedAt = performance.now();
        let result: InferenceResult | undefined;
        let failure: string | undefined;
        const rows = records.length * columns === features.length ? features : features.slice(0, records.length * columns);
        const request: InferenceRequest = extraInputs === undefined
          ? { features: rows, rows: records.length, columns, timeoutMs }
          : { features: rows, rows: records.length, columns, timeoutMs, inputs: tensorsOf(extraInputs, records) };
        // The shadow copies the request now: the serving run moves its buffers to a worker.
        const compare = shadow?.start(request);
        try {
          result = await model.run(request);
        } catch (error) {
          failure = describeError(error);
        }
        compare?.(result, result?.modelVersion);
        if (instrumentation.wants('inference.done')) {
          instrumentation.emit('inference.done', {
            stage, model: modelSpec, records, startedAt, durationMs: performance.now() - startedAt,
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
          if (isBatch(item)) scoring.add(item, false);
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
        offLifecycle?.();
      };
    });
}

function isBatch<T>(item: Envelope<T> | Batch<T>): item is Batch<T> {
  return (item as Batch<T>).kind === 'batch';
}
