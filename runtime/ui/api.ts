// The JSON the dashboard serves (`/api/job`, `/api/metrics`, and each server-sent event), in one
// place so the page, docs/dashboard.md and other tools read the same shapes. Times are ms; `at`
// fields are ms since the epoch. Record contents appear only in `deadLetters.recent[].key /
// .original / .value` (what the dead-letter sink holds anyway), and not at all with --ui-redact.

/** `GET /api/job`: what the job is and how it is wired (changes only when stages subscribe). */
export interface JobView {
  readonly name: string;
  readonly description: string | undefined;
  /** When the dashboard started, ms since the epoch. */
  readonly startedAt: number;
  readonly state: 'starting' | 'running' | 'stopping' | 'finished' | 'failed';
  /** The start-up lines of the run (inputs, outputs, dead letters, tracing): credentials are already hidden in them. */
  readonly io: readonly string[];
  readonly graph: JobGraph;
  /** `--max-in-flight`: records allowed inside the job at once. */
  readonly budget: number;
  /** Inference worker threads. */
  readonly workers: number;
  /** `--ui-redact`: dead letters are shown without key, bytes or value. */
  readonly redacted: boolean;
  /** `--jaeger-url`, when given: slow traces link to `<url>/trace/<traceId>`. */
  readonly jaegerUrl: string | undefined;
  /** Records are sampled for tracing (so slow records can have trace links). */
  readonly tracing: boolean;
  readonly checkpoints: boolean;
}

/** The job graph as the engine sees it: sources, the stages in source-to-sink order, sinks, dead letters. */
export interface JobGraph {
  /** Each declared input and the connector reading it (`kafka:transactions`, a generator's topic, a file). */
  readonly sources: ReadonlyArray<{ readonly input: string; readonly name: string }>;
  /** Stage names in the order records meet them (the engine lists them sink first; this is reversed). */
  readonly stages: readonly string[];
  readonly sinks: ReadonlyArray<{ readonly output: string; readonly name: string }>;
  readonly deadLetters: string;
}

/** Percentiles of a time in ms over the last second; undefined values when nothing was seen. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly p99: number | undefined;
  readonly max: number | undefined;
}

/** One stage (or source, sink) over the last second. */
export interface StageView {
  readonly name: string;
  /** Records the stage reported since the start; undefined when the operator reports no events of its own (keyBy, windows, joins). */
  readonly records: number | undefined;
  /** Records per second over the last second. */
  readonly rate: number | undefined;
  /** Time in the stage over the last second: per record for map/state stages, per batch for infer and enrich. */
  readonly time: Percentiles;
  /** What the time measures: `record`, `batch`, `write` or `lookup`. */
  readonly per: 'record' | 'batch' | 'write' | 'lookup' | undefined;
  /** Dead letters this stage sent since the start. */
  readonly deadLetters: number;
}

/** `GET /api/metrics` and every `metrics` server-sent event. */
export interface MetricsView {
  readonly at: number;
  readonly elapsedMs: number;
  readonly totals: {
    readonly in: number;
    readonly out: number;
    readonly deadLettered: number;
    readonly dropped: number;
    readonly skipped: number;
    readonly counted: number;
  };
  /** Per second over the last tick. */
  readonly rates: { readonly in: number; readonly out: number; readonly deadLettered: number };
  /** End-to-end latency (source hand-in to sink acknowledgement) over the last second, and since the start. */
  readonly latency: { readonly window: Percentiles; readonly total: Percentiles };
  readonly sources: readonly SourceView[];
  readonly stages: readonly StageView[];
  readonly sinks: readonly StageView[];
  readonly backpressure: BackpressureView;
  readonly partitions: readonly PartitionView[];
  readonly checkpoints: CheckpointView;
  readonly model: ModelView;
  readonly deadLetters: DeadLetterView;
  /** The slowest traced records of the last minute, slowest first. */
  readonly slowTraces: readonly SlowTrace[];
  /** One point per second, oldest first (up to 10 minutes); only in `/api/metrics`, not in events. */
  readonly history?: readonly HistoryPoint[];
}

export interface SourceView {
  readonly name: string;
  readonly records: number | undefined;
  readonly rate: number | undefined;
  /** Paused now because the in-flight budget is full (sources that pause: Kafka). */
  readonly paused: boolean;
  /** Share of the last second spent paused, 0..1. */
  readonly pausedShare: number;
  readonly pauses: number;
}

export interface BackpressureView {
  readonly inFlight: number;
  readonly budget: number;
  /** inFlight / budget. */
  readonly used: number;
  readonly peakInFlight: number;
  /** Some source is paused now, or was for part of the last second. */
  readonly paused: boolean;
  /** Inference batches waiting for a worker thread. */
  readonly poolQueue: number;
  /** Share of the worker threads' time spent on batches over the last second, 0..1 (from the batches' own timings). */
  readonly poolBusy: number;
}

export interface PartitionView {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number | undefined;
  readonly committed: number | undefined;
  /** Fetching of this partition is paused now (its source is). */
  readonly paused: boolean;
  /**
   * Share of the last second its source spent paused, 0..1. A budget that frees in milliseconds
   * pauses and resumes many times between two views: `paused` then catches few of them, this all.
   */
  readonly pausedShare: number;
}

export interface CheckpointView {
  readonly enabled: boolean;
  readonly taken: number;
  readonly failures: number;
  readonly last: { readonly at: number; readonly durationMs: number; readonly bytes: number | undefined; readonly entries: number | undefined; readonly partitions: number } | undefined;
  readonly lastFailure: { readonly at: number; readonly error: string } | undefined;
}

export interface ModelView {
  readonly stages: readonly InferenceStageView[];
  /** Circuit breakers of enrich stages, by stage. */
  readonly breakers: Readonly<Record<string, 'closed' | 'open' | 'half-open'>>;
  readonly enrich: ReadonlyArray<{ readonly stage: string; readonly calls: number; readonly fallbacks: number; readonly errors: number; readonly time: Percentiles }>;
  /** Versions swapped in or refused while running, newest last. */
  readonly changes: ReadonlyArray<{ readonly at: number; readonly stage: string; readonly model: string; readonly version: string; readonly from: string | undefined; readonly refused: readonly string[] | undefined }>;
  /** The last drift window, when the job monitors drift. */
  readonly drift: { readonly at: number; readonly model: string; readonly records: number; readonly columns: ReadonlyArray<{ readonly name: string; readonly psi: number; readonly ks: number; readonly drifted: boolean }> } | undefined;
  /** The last online-accuracy window, when the job joins labels. */
  readonly accuracy: { readonly at: number; readonly model: string; readonly count: number; readonly precision: number; readonly recall: number; readonly auc: number } | undefined;
}

export interface InferenceStageView {
  readonly stage: string;
  readonly model: string;
  /** The version serving now (from the last swap, or the worker's answer). */
  readonly version: string | undefined;
  readonly batches: number;
  readonly records: number;
  readonly errors: number;
  /** Records that got the fallback instead of a score. */
  readonly fallbacks: number;
  /** Batch round trip through the worker pool over the last second. */
  readonly time: Percentiles;
  /** Batches by size since the start: `le` is the bucket's upper bound (records). */
  readonly batchSizes: ReadonlyArray<{ readonly le: number; readonly count: number }>;
}

export interface DeadLetterView {
  readonly total: number;
  /** Per second over the last tick. */
  readonly rate: number;
  readonly byStage: Readonly<Record<string, number>>;
  /** The newest dead letters, newest first. */
  readonly recent: readonly DeadLetterEntry[];
}

export interface DeadLetterEntry {
  readonly at: number;
  readonly stage: string;
  readonly reason: string;
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  readonly offset: number | undefined;
  /** The record's key, original bytes (as text, cut at 1 KB) and value (JSON, cut at 1 KB); absent with --ui-redact. */
  readonly key?: string | undefined;
  readonly original?: string | undefined;
  readonly value?: string | undefined;
}

export interface SlowTrace {
  readonly at: number;
  readonly traceId: string;
  readonly latencyMs: number;
  readonly sink: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface HistoryPoint {
  readonly at: number;
  readonly in: number;
  readonly out: number;
  readonly deadLettered: number;
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly p99: number | undefined;
  readonly inFlight: number;
}
