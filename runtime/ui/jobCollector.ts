import type { JobStats } from '../../core/engine/engine.ts';
import type { Instrumentation, InstrumentationEvents } from '../../core/instrumentation.ts';
import { forEachRun } from '../../core/latency.ts';
import type { HistoryPoint, JobGraph, MetricsView, Percentiles, StageView } from './api.ts';
import type { CheckpointWatch } from './checkpointWatch.ts';
import { DeadLetterLog } from './deadLetterLog.ts';
import { ModelPanel } from './modelPanel.ts';
import { SlowTraces } from './slowTraces.ts';
import { SourcePanel } from './sourcePanel.ts';
import { LogHistogram, NO_PERCENTILES, WindowMeter } from './windowMeter.ts';

/** Seconds of history kept for the charts. */
const HISTORY = 600;

/** What the collector reads from the running job. */
export interface JobProbe {
  stats(): JobStats;
  /** The engine's stage names, sink first. */
  stages(): string[];
}

export interface CollectorOptions {
  /** Sources, sinks and dead letters; stages come from the running job. */
  readonly graph: Omit<JobGraph, 'stages'>;
  readonly budget: number;
  readonly workers: number;
  readonly redact: boolean;
  /** Records are traced: keep the slowest traced ones for links. */
  readonly tracing: boolean;
  readonly checkpoints: CheckpointWatch;
  /** Inference batches waiting for a worker thread. */
  readonly poolQueue?: () => number;
  /** Dead letters kept for the list. */
  readonly keepDeadLetters?: number;
  /** A stream thread's collector: time windows keep their buckets, so the main thread merges them exactly. */
  readonly mergeable?: boolean;
}

/** Where the dashboard gets its views: one job's collector, or the stream threads' views merged. */
export interface ViewSource {
  /** Closes the current window: the view of the last second, also kept as `latest()`. */
  tick(): MetricsView;
  latest(): MetricsView | undefined;
  history(): HistoryPoint[];
  /** Stage names in the order records meet them. */
  stages(): string[];
}

/**
 * Everything the dashboard shows, gathered from the job's instrumentation events and its
 * stats: per-stage rates and times, end-to-end latency, sources and partitions, checkpoints,
 * the model, dead letters and slow traces. Listeners only add to counters and histograms;
 * once a second {@link tick} turns the second's window into a {@link MetricsView} and a point
 * of history.
 *
 * @example
 * const collector = new JobCollector(options);
 * collector.subscribe(instrumentation);
 * collector.attach(running);
 * setInterval(() => push(collector.tick()), 1000);
 */
export class JobCollector implements ViewSource {
  readonly #options: CollectorOptions;
  readonly #stages = new Map<string, { meter: WindowMeter; per: StageView['per'] }>();
  readonly #sinks = new Map<string, WindowMeter>();
  readonly #latency = new LogHistogram();
  readonly #sources: SourcePanel;
  readonly #model: ModelPanel;
  readonly #deadLetters: DeadLetterLog;
  readonly #slow = new SlowTraces();
  readonly #history: HistoryPoint[] = [];
  #lastStage: { stage: string; meter: WindowMeter } | undefined;
  #probe: JobProbe | undefined;
  readonly #rates = new CounterRates();
  #latest: MetricsView | undefined;

  constructor(options: CollectorOptions) {
    this.#options = options;
    this.#model = new ModelPanel({ mergeable: options.mergeable === true });
    this.#sources = new SourcePanel(options.graph.sources.map((s) => s.name));
    this.#deadLetters = new DeadLetterLog({ keep: options.keepDeadLetters ?? 50, redact: options.redact });
  }

  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [
      this.#sources.subscribe(instrumentation),
      this.#model.subscribe(instrumentation),
      instrumentation.on('stage.done', (e) => this.#stageDone(e.stage, e.endedAt - e.startedAt)),
      instrumentation.on('features.lookup', (e) => this.#stage(e.stage, 'lookup').observe(e.entities, e.durationMs)),
      instrumentation.on('features.materialized', (e) => this.#stage(e.stage, undefined).observe(e.rows)),
      instrumentation.on('sink.written', (e) => this.#written(e)),
      instrumentation.on('record.deadLettered', (e) => this.#deadLetters.add(e)),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Reads the running job's stats and stages from now on. */
  attach(probe: JobProbe): void {
    this.#probe = probe;
  }

  /** Stages in the order records meet them (the engine lists them sink first). */
  stages(): string[] {
    return [...(this.#probe?.stages() ?? [])].reverse();
  }

  /** The last view made by {@link tick}, if any. */
  latest(): MetricsView | undefined {
    return this.#latest;
  }

  /** One point per second, oldest first. */
  history(): HistoryPoint[] {
    return [...this.#history];
  }

  /** Closes the current window: the view of the last second, also kept as {@link latest}. */
  tick(): MetricsView {
    const stats = this.#probe?.stats() ?? EMPTY_STATS;
    const { seconds, rates } = this.#rates.take(stats);
    const model = this.#model.take(seconds, this.#options.workers);
    const { sources, partitions, paused } = this.#sources.take(seconds, { records: stats.in, rate: rates.in });
    const window = this.#latency.percentiles(this.#options.mergeable);
    this.#latency.reset();
    const view: MetricsView = {
      at: Date.now(),
      elapsedMs: stats.elapsedMs,
      totals: { in: stats.in, out: stats.out, deadLettered: stats.deadLettered, dropped: stats.dropped, skipped: stats.skipped, counted: stats.counted },
      rates,
      latency: { window, total: stats.latency.count === 0 ? NO_PERCENTILES : { ...stats.latency } },
      sources,
      stages: this.#stageViews(seconds, model.stageTimes),
      sinks: this.#options.graph.sinks.map(({ name }) => {
        const w = this.#sinks.get(name)?.take(seconds);
        return { name, records: w?.records ?? 0, rate: w?.rate ?? 0, time: w?.time ?? NO_PERCENTILES, per: 'write', deadLetters: 0 };
      }),
      backpressure: {
        inFlight: stats.inFlight,
        budget: this.#options.budget,
        used: this.#options.budget > 0 ? stats.inFlight / this.#options.budget : 0,
        peakInFlight: stats.peakInFlight,
        paused,
        poolQueue: this.#options.poolQueue?.() ?? 0,
        poolBusy: model.poolBusy,
      },
      partitions,
      checkpoints: this.#options.checkpoints.view(),
      model: model.view,
      deadLetters: this.#deadLetters.take(seconds),
      slowTraces: this.#slow.list(),
    };
    keepHistory(this.#history, view);
    this.#latest = view;
    return view;
  }

  #stageViews(seconds: number, modelTimes: Map<string, { records: number; rate: number; time: Percentiles }>): StageView[] {
    return this.stages().map((name) => {
      const own = this.#stages.get(name);
      const window = own?.meter.take(seconds) ?? modelTimes.get(name);
      const per = own?.per ?? (modelTimes.has(name) ? 'batch' : undefined);
      return {
        name,
        records: window?.records,
        rate: window?.rate,
        time: window?.time ?? NO_PERCENTILES,
        per,
        deadLetters: this.#deadLetters.count(name),
      };
    });
  }

  /** Per record: consecutive events of one stage skip the map lookup. */
  #stageDone(stage: string, ms: number): void {
    let last = this.#lastStage;
    if (last === undefined || last.stage !== stage) this.#lastStage = last = { stage, meter: this.#stage(stage, 'record') };
    last.meter.observe(1, ms);
  }

  #stage(stage: string, per: StageView['per']): WindowMeter {
    let entry = this.#stages.get(stage);
    if (entry === undefined) this.#stages.set(stage, (entry = { meter: new WindowMeter({ mergeable: this.#options.mergeable === true }), per }));
    return entry.meter;
  }

  #written({ sink, records, startedAt, endedAt }: InstrumentationEvents['sink.written']): void {
    let meter = this.#sinks.get(sink);
    if (meter === undefined) this.#sinks.set(sink, (meter = new WindowMeter({ mergeable: this.#options.mergeable === true })));
    meter.observe(records.length, endedAt - startedAt);
    const latency = this.#latency;
    forEachRun(records, (record) => record.receivedAt, (receivedAt, count) => latency.record(endedAt - receivedAt, count));
    if (this.#options.tracing) this.#slow.written(sink, records, endedAt);
  }
}

/**
 * Records per second in, out and dead-lettered, from a job's counters read once per tick: the
 * one-thread collector reads the engine's, the threads' dashboard the supervisor's merged ones.
 *
 * @example
 * const rates = new CounterRates();
 * const { seconds, rates: perSecond } = rates.take(running.stats()); // perSecond.in: records in per second since the last take
 */
export class CounterRates {
  #previous = { at: performance.now(), in: 0, out: 0, deadLettered: 0 };

  /** The rates since the last take (or since this was made), and over how many seconds. */
  take(stats: Pick<JobStats, 'in' | 'out' | 'deadLettered'>): { seconds: number; rates: MetricsView['rates'] } {
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.#previous.at) / 1000);
    const rate = (total: number, before: number) => Math.max(0, total - before) / seconds;
    const rates = { in: rate(stats.in, this.#previous.in), out: rate(stats.out, this.#previous.out), deadLettered: rate(stats.deadLettered, this.#previous.deadLettered) };
    this.#previous = { at: now, in: stats.in, out: stats.out, deadLettered: stats.deadLettered };
    return { seconds, rates };
  }
}

/** Adds the view's point to the charts' history, keeping the last ten minutes. */
export function keepHistory(history: HistoryPoint[], view: MetricsView): void {
  const { rates, latency } = view;
  history.push({ at: view.at, in: rates.in, out: rates.out, deadLettered: rates.deadLettered, p50: latency.window.p50, p95: latency.window.p95, p99: latency.window.p99, inFlight: view.backpressure.inFlight });
  if (history.length > HISTORY) history.shift();
}

export const EMPTY_STATS: JobStats = {
  in: 0,
  out: 0,
  deadLettered: 0,
  dropped: 0,
  inFlight: 0,
  peakInFlight: 0,
  skipped: 0,
  checkpoints: 0,
  counted: 0,
  elapsedMs: 0,
  activeMs: 0,
  latency: { count: 0, p50: 0, p95: 0, p99: 0, max: 0 },
};
