import { asapScheduler, asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Ticket } from '../core/completion.ts';
import { operatorContext } from '../core/engine/operatorContext.ts';
import { InvalidOptionError, requireNonNegativeNumber, requirePositiveInteger } from '../core/errors.ts';
import type { Instrumentation } from '../core/instrumentation.ts';
import type { Envelope } from '../core/record.ts';
import { LatencyTarget } from './internal/latencyTarget.ts';
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
  /**
   * A p99 latency to hold, ms, from a record entering the batch to its write: while the p99 of
   * the last 200 ms is above it, the batch size and the wait halve; under 70 % of it they grow
   * back towards `maxSize` / `maxWaitMs`. Off by default (the batch follows the queue alone).
   */
  readonly targetP99Ms?: number;
  /** Time source of the wait; the job's scheduler by default (virtual in the test driver). */
  readonly scheduler?: SchedulerLike;
}

/**
 * Groups records into batches of at most `maxSize`, in order. With `adaptive` (the default) a
 * batch closes as soon as the burst of records that arrived together is taken; otherwise when its
 * first record has waited `maxWaitMs`. With `targetP99Ms` the size and wait shrink while the
 * job's latency is above the target. The last partial batch is flushed when the input ends.
 *
 * @example
 * features.pipe(microBatch({ maxSize: 256, targetP99Ms: 25 }), infer({ model: 'models/fraud', ... }))
 */
export function microBatch<T>(options: MicroBatchOptions = {}, stageOptions?: StageOptions): OperatorFunction<Envelope<T>, Batch<T>> {
  const config = batchConfig(options);
  return operate<Envelope<T>, Batch<T>>('microBatch', stageOptions, ({ ctx }) => new Batcher<T>(config, options.scheduler ?? ctx?.scheduler ?? asyncScheduler, ctx?.instrumentation));
}

/** Checked batching options. */
export interface BatchConfig {
  readonly maxSize: number;
  readonly maxWaitMs: number;
  readonly adaptive: boolean;
  readonly targetP99Ms: number | undefined;
}

/** Validates batching options at the boundary, with exact messages. */
export function batchConfig(options: MicroBatchOptions): BatchConfig {
  return {
    maxSize: requirePositiveInteger('maxSize', options.maxSize ?? 512),
    maxWaitMs: requireNonNegativeNumber('maxWaitMs', options.maxWaitMs ?? 5),
    adaptive: options.adaptive ?? true,
    targetP99Ms: options.targetP99Ms === undefined ? undefined : requirePositiveNumber('targetP99Ms', options.targetP99Ms),
  };
}

function requirePositiveNumber(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InvalidOptionError(`${name} must be a positive number of milliseconds (got ${String(value)})`);
  return value;
}

/** The batching body, shared by `microBatch` and by `infer` when it is given records. */
export class Batcher<T> {
  readonly #config: BatchConfig;
  readonly #scheduler: SchedulerLike;
  #records: Envelope<T>[] = [];
  #openedAt = 0;
  #timer: Subscription | undefined;
  /** The size limit of the open batch: `maxSize`, or less while a latency target is missed. */
  #maxSize: number;
  readonly #target: LatencyTarget | undefined;
  /** When each record entered (scheduler time), by ticket: the ticket is what reaches the sink. */
  readonly #entered = new WeakMap<Ticket, number>();
  readonly #unlisten: (() => void) | undefined;

  /**
   * @param instrumentation where the job's writes are announced (`sink.written`), which a
   *   latency target observes; the job's own when built inside a pipeline.
   */
  constructor(config: BatchConfig, scheduler: SchedulerLike, instrumentation: Instrumentation | undefined = operatorContext()?.instrumentation) {
    this.#config = config;
    this.#scheduler = scheduler;
    this.#maxSize = config.maxSize;
    if (config.targetP99Ms !== undefined) {
      if (instrumentation === undefined) throw new InvalidOptionError('targetP99Ms needs the job around the batch (run it in a job, or in testDriver), to see when records are written');
      const target = new LatencyTarget(config.targetP99Ms, { size: config.maxSize, waitMs: config.maxWaitMs });
      this.#target = target;
      this.#unlisten = instrumentation.on('sink.written', ({ records }) => {
        const now = this.#scheduler.now();
        for (const record of records) {
          const at = this.#entered.get(record.ticket);
          if (at !== undefined) target.observe(now - at);
        }
      });
    }
  }

  /** The size limit batches are cut at now (below `maxSize` while a latency target is missed). */
  get maxSize(): number {
    return this.#maxSize;
  }

  next(record: Envelope<T>, emit: (batch: Batch<T>) => void): void {
    if (this.#records.length === 0) {
      this.#openedAt = this.#scheduler.now();
      let waitMs = this.#config.maxWaitMs;
      if (this.#target !== undefined) ({ size: this.#maxSize, waitMs } = this.#target.limits(this.#openedAt));
      // asap runs after the synchronous burst that delivered this record: every record that
      // arrived with it is in the batch, and nothing waits for records that are not coming.
      this.#timer = this.#config.adaptive ? asapScheduler.schedule(() => this.#cut(emit)) : this.#scheduler.schedule(() => this.#cut(emit), waitMs);
    }
    if (this.#target !== undefined) this.#entered.set(record.ticket, this.#scheduler.now());
    this.#records.push(record);
    if (this.#records.length >= this.#maxSize) this.#cut(emit);
  }

  complete(emit: (batch: Batch<T>) => void): void {
    this.#cut(emit);
  }

  finalize(): void {
    this.#timer?.unsubscribe();
    this.#unlisten?.();
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
