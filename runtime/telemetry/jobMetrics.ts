import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import type { JobStats } from '../../core/engine/engine.ts';
import type { Instrumentation, InstrumentationEvents } from '../../core/instrumentation.ts';
import { forEachRun } from '../../core/latency.ts';
import { BucketHistogram, type HistogramCell } from './bucketHistogram.ts';
import { EnrichMetrics } from './enrichMetrics.ts';
import { ModelMetrics } from './modelMetrics.ts';
import { FeatureMetrics } from './featureMetrics.ts';
import { LifecycleMetrics } from './lifecycleMetrics.ts';
import { SourceMetrics } from './sourceMetrics.ts';
import { registerStatsMetrics, type PoolGauges } from './statsMetrics.ts';

export type { PoolGauges } from './statsMetrics.ts';

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];
const SCORE_BUCKETS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1];

/**
 * The job's Prometheus metrics, fed by its instrumentation events and, at scrape time, by the
 * engine's stats and the worker pool. Per-record listeners only add to plain numbers and
 * histogram cells; prom-client does its work when `/metrics` is scraped.
 *
 * @example
 * const metrics = new JobMetrics({ jobName: 'fraud-detection', pool });
 * metrics.subscribe(instrumentation);
 * metrics.attach(() => running.stats());
 * await metrics.registry.metrics();
 */
export class JobMetrics {
  readonly registry = new Registry();
  #stats: (() => JobStats) | undefined;
  #traced: () => number = () => 0;
  #droppedSpans: () => Readonly<Record<string, number>> = () => ({});
  readonly #stageRecords = new Map<string, number>();
  readonly #deadLetters = new Map<string, { stage: string; count: number }>();
  readonly #sinkRecords = new Map<string, number>();
  readonly #inference = new Map<string, { stage: string; model: string; batches: number; errors: number; fallbacks: number; records: number }>();
  readonly #endToEnd: HistogramCell;
  readonly #stageDuration: BucketHistogram<'stage'>;
  readonly #batchWait: BucketHistogram<'stage'>;
  readonly #batchSize: BucketHistogram<'stage'>;
  readonly #inferenceDuration: BucketHistogram<'stage' | 'model'>;
  readonly #score: BucketHistogram<'model'>;
  readonly #sinkWrite: BucketHistogram<'sink'>;
  /** Circuit breaker, call latency, retries and fallbacks of enrich stages (enrichMetrics.ts). */
  readonly #enrich: EnrichMetrics;
  /** Drift and online-accuracy gauges (modelMetrics.ts). */
  readonly #model: ModelMetrics;
  /** Feature lookups by status, materialized rows, store errors (featureMetrics.ts). */
  readonly #features: FeatureMetrics;
  /** Model swaps, refusals, the serving version and shadow agreement (lifecycleMetrics.ts). */
  readonly #lifecycle: LifecycleMetrics;
  /** Records read, lag, commits, rebalances and pauses of the sources (sourceMetrics.ts). */
  readonly #source: SourceMetrics;
  /** The last stage seen and its cell: consecutive events of one stage skip the map lookup. */
  #lastStage: { stage: string; cell: HistogramCell } | undefined;

  constructor(options: { jobName: string; pool?: PoolGauges | undefined; defaultMetrics?: boolean }) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ sluice_job: options.jobName });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });

    registerStatsMetrics(registers, () => this.#stats?.(), options.pool);

    const labelledCounter = <L extends string, E>(name: string, help: string, labelNames: L[], entries: () => Iterable<E>, row: (e: E) => [Record<L, string | number>, number]) =>
      new Counter<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const entry of entries()) {
            const [labels, value] = row(entry);
            this.inc(labels, value);
          }
        },
      });
    labelledCounter('sluice_stage_records_total', 'Records each stage finished (stage.done: decode, features, decision, ...).', ['stage'], () => this.#stageRecords, ([stage, n]) => [{ stage }, n]);
    labelledCounter('sluice_dead_letters_total', 'Records sent to the dead-letter sink, by the stage that sent them.', ['stage'], () => this.#deadLetters.values(), (d) => [{ stage: d.stage }, d.count]);
    labelledCounter('sluice_sink_records_total', 'Records written and acknowledged, by sink.', ['sink'], () => this.#sinkRecords, ([sink, n]) => [{ sink }, n]);
    labelledCounter('sluice_inference_batches_total', 'Batches sent to the model.', ['stage', 'model'], () => this.#inference.values(), (i) => [{ stage: i.stage, model: i.model }, i.batches]);
    labelledCounter('sluice_inference_records_total', 'Records sent to the model.', ['stage', 'model'], () => this.#inference.values(), (i) => [{ stage: i.stage, model: i.model }, i.records]);
    labelledCounter('sluice_inference_errors_total', 'Batches the model failed on or did not answer in time.', ['stage', 'model'], () => this.#inference.values(), (i) => [{ stage: i.stage, model: i.model }, i.errors]);
    labelledCounter('sluice_inference_fallbacks_total', 'Records that got the fallback score instead of a model answer.', ['stage', 'model'], () => this.#inference.values(), (i) => [{ stage: i.stage, model: i.model }, i.fallbacks]);
    const traced = () => this.#traced();
    new Counter({ name: 'sluice_traced_records_total', help: 'Records sampled for tracing.', registers, collect() { this.reset(); this.inc(traced()); } });
    const droppedSpans = () => this.#droppedSpans();
    new Counter({
      name: 'sluice_trace_spans_dropped_total',
      help: 'Spans lost before reaching the trace backend: the export queue was full (queue_full) or the export failed (export_failed).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(droppedSpans())) this.inc({ reason }, count);
      },
    });

    this.#endToEnd = new BucketHistogram({
      name: 'sluice_end_to_end_latency_seconds',
      help: 'Time from the source handing a record in to the sink acknowledging it.',
      buckets: LATENCY_BUCKETS,
      registers,
    }).cell();
    this.#stageDuration = new BucketHistogram({ name: 'sluice_stage_duration_seconds', help: 'Time a stage spent on one record (stage.done).', labelNames: ['stage'], buckets: LATENCY_BUCKETS, registers });
    this.#batchWait = new BucketHistogram({ name: 'sluice_batch_wait_seconds', help: 'Time a micro-batch was open, from its first record to its cut.', labelNames: ['stage'], buckets: LATENCY_BUCKETS, registers });
    this.#batchSize = new BucketHistogram({ name: 'sluice_batch_size', help: 'Records per micro-batch.', labelNames: ['stage'], buckets: BATCH_BUCKETS, registers });
    this.#inferenceDuration = new BucketHistogram({
      name: 'sluice_inference_duration_seconds',
      help: 'Round trip of one batch through the worker pool (queue + model run).',
      labelNames: ['stage', 'model'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#score = new BucketHistogram({ name: 'sluice_model_score', help: 'Distribution of model scores (fallbacks excluded).', labelNames: ['model'], buckets: SCORE_BUCKETS, registers });
    this.#sinkWrite = new BucketHistogram({ name: 'sluice_sink_write_duration_seconds', help: 'Time one sink write took.', labelNames: ['sink'], buckets: LATENCY_BUCKETS, registers });
    this.#enrich = new EnrichMetrics(registers);
    this.#model = new ModelMetrics(registers);
    this.#features = new FeatureMetrics(registers);
    this.#lifecycle = new LifecycleMetrics(registers);
    this.#source = new SourceMetrics(registers);
  }

  /** Reads the engine's counters at scrape time. */
  attach(stats: () => JobStats): void {
    this.#stats = stats;
  }

  /** Reports how many records tracing sampled. */
  countTraced(read: () => number): void {
    this.#traced = read;
  }

  /** Reports spans lost on their way to the trace backend, by reason. */
  countDroppedSpans(read: () => Readonly<Record<string, number>>): void {
    this.#droppedSpans = read;
  }

  /** Listens to the job's events; returns the unsubscribe. */
  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [
      this.#enrich.subscribe(instrumentation),
      this.#model.subscribe(instrumentation),
      this.#features.subscribe(instrumentation),
      this.#lifecycle.subscribe(instrumentation),
      this.#source.subscribe(instrumentation),
      instrumentation.on('stage.done', (e) => this.#stageDone(e)),
      instrumentation.on('batch.formed', (e) => this.#batchFormed(e)),
      instrumentation.on('inference.done', (e) => this.#inferenceDone(e)),
      instrumentation.on('sink.written', (e) => this.#sinkWritten(e)),
      instrumentation.on('record.deadLettered', (e) => this.#deadLettered(e)),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  #stageDone({ stage, startedAt, endedAt }: InstrumentationEvents['stage.done']): void {
    let last = this.#lastStage;
    if (last === undefined || last.stage !== stage) {
      last = { stage, cell: this.#stageDuration.cell({ stage }) };
      this.#lastStage = last;
    }
    last.cell.observe((endedAt - startedAt) / 1000);
    this.#stageRecords.set(stage, (this.#stageRecords.get(stage) ?? 0) + 1);
  }

  #batchFormed({ stage, records, waitedMs }: InstrumentationEvents['batch.formed']): void {
    this.#batchSize.cell({ stage }).observe(records.length);
    this.#batchWait.cell({ stage }).observe(waitedMs / 1000);
  }

  #inferenceDone({ stage, model, records, durationMs, scores, error }: InstrumentationEvents['inference.done']): void {
    const name = model.replace(/^.*[\\/]/, '');
    const key = `${stage}\u0000${name}`;
    let entry = this.#inference.get(key);
    if (entry === undefined) {
      entry = { stage, model: name, batches: 0, errors: 0, fallbacks: 0, records: 0 };
      this.#inference.set(key, entry);
    }
    entry.batches += 1;
    entry.records += records.length;
    this.#inferenceDuration.cell({ stage, model: name }).observe(durationMs / 1000);
    if (error !== undefined || scores === undefined) {
      entry.errors += 1;
      entry.fallbacks += records.length;
      return;
    }
    const cell = this.#score.cell({ model: name });
    for (let i = 0; i < records.length; i += 1) {
      const score = scores[i];
      if (score !== undefined && Number.isFinite(score)) cell.observe(score);
      else entry.fallbacks += 1;
    }
  }

  #sinkWritten({ sink, records, startedAt, endedAt }: InstrumentationEvents['sink.written']): void {
    const cell = this.#endToEnd;
    forEachRun(records, (record) => record.receivedAt, (receivedAt, count) => cell.observe((endedAt - receivedAt) / 1000, count));
    this.#sinkRecords.set(sink, (this.#sinkRecords.get(sink) ?? 0) + records.length);
    this.#sinkWrite.cell({ sink }).observe((endedAt - startedAt) / 1000);
  }

  #deadLettered({ stage }: InstrumentationEvents['record.deadLettered']): void {
    const entry = this.#deadLetters.get(stage);
    if (entry === undefined) this.#deadLetters.set(stage, { stage, count: 1 });
    else entry.count += 1;
  }
}
