import { oipClient } from '../connectors/modelService/oipClient.ts';
import { InvalidOptionError } from '../core/errors.ts';
import type { Envelope } from '../core/record.ts';
import type { OperatorFunction } from 'rxjs';
import { enrich as enrichCall, RecordFailure, type EnrichOptions } from './enrich.ts';
import type { EnrichBreakerOptions, EnrichRetryOptions } from './enrichPolicy.ts';
import type { Prediction } from './infer.ts';
import type { StageOptions } from './internal/operate.ts';
import type { Batch, MicroBatchOptions } from './microBatch.ts';

export interface EnrichModelOptions<T, B> {
  /** Base URL of an Open Inference Protocol service: `sluice serve`, Triton, KServe, MLServer. */
  readonly url: string;
  /** The model name in `/v2/models/<model>`. */
  readonly model: string;
  /** Pin a version; the service picks one when absent. */
  readonly version?: string;
  /** The feature vector of a value; a non-finite feature or a wrong length gives that record the fallback and a dead letter. */
  readonly features: (value: T) => ArrayLike<number>;
  /** The output value from the input value and the prediction (the same `Prediction` as `infer`). */
  readonly output: (value: T, prediction: Prediction) => B;
  /** The safe default when the service fails, times out or the breaker is open (for fraud: score 1, flag for review). */
  readonly fallback: { readonly score: number };
  /** Features per row; the first record's count when absent. */
  readonly columns?: number;
  /** Per request attempt. Default 1000 ms. */
  readonly timeoutMs?: number;
  readonly batch?: MicroBatchOptions;
  readonly concurrency?: number;
  readonly retry?: EnrichRetryOptions;
  readonly breaker?: EnrichBreakerOptions | false;
}

/**
 * Scores records on a remote model service over the Open Inference Protocol: the enricher
 * counterpart of `infer`, built on `enrich` (batching, concurrency limit, timeout, retries,
 * circuit breaker, fallback with dead letter) and `oipClient`. Each request carries the trace
 * (`traceparent`) of the enrich span, so the service's span joins the record's trace; the
 * prediction's `modelVersion` is the one the service reports (a bare number as `model@number`,
 * as `infer` names registry versions).
 *
 * @example
 * featured.pipe(
 *   enrich.model({ url: 'http://127.0.0.1:8500', model: 'fraud-v1', features: (f) => f.features,
 *                  fallback: { score: 1 }, output: (f, prediction) => ({ tx: f.tx, prediction }) }),
 * )
 */
export function enrichModel<T, B>(options: EnrichModelOptions<T, B>, stageOptions?: StageOptions): OperatorFunction<Envelope<T> | Batch<T>, Envelope<B>> {
  if (!Number.isFinite(options.fallback?.score)) throw new InvalidOptionError('enrich.model: fallback.score must be a finite number (the safe default when the service fails)');
  const timeoutMs = options.timeoutMs ?? 1000;
  // The client's own timeout is a backstop; enrich times each attempt out first.
  const client = oipClient({ url: options.url, model: options.model, timeoutMs: timeoutMs * 2, ...(options.version === undefined ? {} : { version: options.version }) });
  const fallbackScore = options.fallback.score;
  const call: EnrichOptions<T, Prediction, B>['call'] = async (values, { signal, traceparent, tracestate }) => {
    const columns = options.columns ?? options.features(values[0]!).length;
    const results: Array<Prediction | RecordFailure> = new Array(values.length);
    const rows: number[] = [];
    const matrix = new Float32Array(values.length * columns);
    values.forEach((value, i) => {
      const problem = writeRow(options.features(value), matrix, rows.length * columns, columns);
      if (problem === undefined) rows.push(i);
      else results[i] = new RecordFailure(problem);
    });
    if (rows.length === 0) return results;
    const answer = await client.infer(matrix, rows.length, columns, { signal, ...(traceparent === undefined ? {} : { traceparent }), ...(tracestate === undefined ? {} : { tracestate }) });
    const modelVersion = versionName(options.model, answer.modelVersion);
    rows.forEach((index, row) => {
      const score = answer.scores[row]!;
      results[index] = Number.isFinite(score) ? { score, modelVersion, fallback: false } : new RecordFailure(`model returned a non-finite score (${String(score)})`);
    });
    return results;
  };
  return enrichCall<T, Prediction, B>(
    {
      call,
      output: options.output,
      fallback: (value) => options.output(value, { score: fallbackScore, modelVersion: 'fallback', fallback: true }),
      timeoutMs,
      ...(options.batch === undefined ? {} : { batch: options.batch }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.breaker === undefined ? {} : { breaker: options.breaker }),
    },
    { stage: stageOptions?.stage ?? 'enrich-model', ...(stageOptions?.onError === undefined ? {} : { onError: stageOptions.onError }) },
  );
}

/**
 * `enrich` with the model helper attached: `enrich({...})` for any call, `enrich.model({...})`
 * for a model service.
 *
 * @example
 * featured.pipe(enrich.model({ url, model: 'fraud-v1', features, fallback: { score: 1 }, output }))
 */
export const enrich: typeof enrichCall & { readonly model: typeof enrichModel } = Object.assign(
  <T, R, B>(options: EnrichOptions<T, R, B>, stageOptions?: StageOptions) => enrichCall(options, stageOptions),
  { model: enrichModel },
);

/**
 * The version as `infer` names it: a bare number (a Sluice registry version, a Triton version
 * directory) becomes `model@number`, as the embedded path says `fraud@1`; a named version
 * (`fraud-v1`) stays as it is.
 */
function versionName(model: string, version: string): string {
  return /^\d+$/.test(version) ? `${model}@${version}` : version;
}

/** Copies one feature vector into the matrix; returns why it cannot be scored, if so. */
function writeRow(row: ArrayLike<number>, into: Float32Array, offset: number, columns: number): string | undefined {
  if (row.length !== columns) return `expected ${columns} features, got ${row.length}`;
  for (let i = 0; i < columns; i += 1) {
    const value = row[i]!;
    if (!Number.isFinite(value)) return `feature ${i} is not a finite number (${String(value)})`;
    into[offset + i] = value;
  }
  return undefined;
}
