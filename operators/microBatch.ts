import { asapScheduler, asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { requireNonNegativeNumber, requirePositiveInteger } from '../core/errors.ts';
import type { Envelope } from '../core/record.ts';
import { operate, type StageOptions } from './internal/operate.ts';

/** Records cut into one batch, with when the batch opened and closed (scheduler time, ms). */
export interface Batch<T> {
  readonly kind: 'batch';
  readonly records: readonly Envelope<T>[];
  readonly openedAt: number;
  readonly closedAt: number;
}

export interface MicroBatchOptions {
  /** A batch is cut as soon as it holds this many records. Default 512. */
  readonly maxSize?: number;
  /** ...or when its first record has waited this long. Default 5 ms. */
  readonly maxWaitMs?: number;
  /**
   * Cut as soon as the records that arrived together have all been taken (the pipeline is idle),
   * instead of waiting out `maxWaitMs`: a lone record goes on at once, and batches grow only when
   * records queue up (Triton's dynamic batching). Default true.
   */
  readonly adaptive?: boolean;
  /** Time source of the wait; the job's scheduler by default (virtual in the test driver). */
  readonly scheduler?: SchedulerLike;
}

/**
 * Groups records into batches of at most `maxSize`, in order. With `adaptive` (the default) a
 * batch closes as soon as the burst of records that arrived together is taken; otherwise when its
 * first record has waited `maxWaitMs`. The last partial batch is flushed when the input ends.
 *
 * @example
 * features.pipe(microBatch({ maxSize: 256 }), infer({ model: 'models/fraud', ... }))
 */
export function microBatch<T>(options: MicroBatchOptions = {}, stageOptions?: StageOptions): OperatorFunction<Envelope<T>, Batch<T>> {
  const config = batchConfig(options);
  return operate<Envelope<T>, Batch<T>>('microBatch', stageOptions, ({ ctx }) => new Batcher<T>(config, options.scheduler ?? ctx?.scheduler ?? asyncScheduler));
}

/** Checked batching options. */
export interface BatchConfig {
  readonly maxSize: number;
  readonly maxWaitMs: number;
  readonly adaptive: boolean;
}

/** Validates batching options at the boundary, with exact messages. */
export function batchConfig(options: MicroBatchOptions): BatchConfig {
  return {
    maxSize: requirePositiveInteger('maxSize', options.maxSize ?? 512),
    maxWaitMs: requireNonNegativeNumber('maxWaitMs', options.maxWaitMs ?? 5),
    adaptive: options.adaptive ?? true,
  };
}

/** The batching body, shared by `microBatch` and by `infer` when it is given records. */
export class Batcher<T> {
  readonly #config: BatchConfig;
  readonly #scheduler: SchedulerLike;
  #records: Envelope<T>[] = [];
  #openedAt = 0;
  #timer: Subscription | undefined;

  constructor(config: BatchConfig, scheduler: SchedulerLike) {
    this.#config = config;
    this.#scheduler = scheduler;
  }

  next(record: Envelope<T>, emit: (batch: Batch<T>) => void): void {
    if (this.#records.length === 0) {
      this.#openedAt = this.#scheduler.now();
      // asap runs after the synchronous burst that delivered this record: every record that
      // arrived with it is in the batch, and nothing waits for records that are not coming.
      this.#timer = this.#config.adaptive ? asapScheduler.schedule(() => this.#cut(emit)) : this.#scheduler.schedule(() => this.#cut(emit), this.#config.maxWaitMs);
    }
    this.#records.push(record);
    if (this.#records.length >= this.#config.maxSize) this.#cut(emit);
  }

  complete(emit: (batch: Batch<T>) => void): void {
    this.#cut(emit);
  }

  finalize(): void {
    this.#timer?.unsubscribe();
  }

  #cut(emit: (batch: Batch<T>) => void): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    if (this.#records.length === 0) return;
    const batch: Batch<T> = { kind: 'batch', records: this.#records, openedAt: this.#openedAt, closedAt: this.#scheduler.now() };
    this.#records = [];
    emit(batch);
  }
}
