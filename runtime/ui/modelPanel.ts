import type { Instrumentation, InstrumentationEvents } from '../../core/instrumentation.ts';
import type { InferenceStageView, ModelView } from './api.ts';
import { WindowMeter } from './windowMeter.ts';

/** Upper bounds of the batch-size histogram (records); the last bucket takes the rest. */
const BATCH_BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 65536];
/** Model changes kept for the page. */
const KEEP_CHANGES = 20;

interface InferStage {
  stage: string;
  model: string;
  version: string | undefined;
  batches: number;
  records: number;
  errors: number;
  fallbacks: number;
  readonly meter: WindowMeter;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The model side of a job, from its events: per `infer` stage the version serving, batches,
 * errors, fallbacks, round-trip time and a batch-size histogram; enrich calls and circuit
 * breakers; versions swapped in or refused; the last drift and online-accuracy windows; and
 * how busy the worker threads were (from each batch's own start and end in its thread).
 *
 * @example
 * const model = new ModelPanel();
 * model.subscribe(instrumentation);
 * model.take(1, 2).view.stages[0].version
 */
export class ModelPanel {
  readonly #infer = new Map<string, InferStage>();
  /** Batch sizes by stage, kept from the first batch.formed (it comes before the stage's first answer). */
  readonly #sizes = new Map<string, number[]>();
  readonly #enrich = new Map<string, { stage: string; calls: number; fallbacks: number; errors: number; meter: WindowMeter }>();
  readonly #breakers: Record<string, 'closed' | 'open' | 'half-open'> = {};
  readonly #changes: Array<Mutable<ModelView['changes'][number]>> = [];
  #drift: ModelView['drift'];
  #accuracy: ModelView['accuracy'];
  /** Worker-thread ms spent on batches in the current window. */
  #busyMs = 0;
  readonly #mergeable: boolean;

  /** `mergeable`: time windows keep their buckets, for a stream thread's view (see WindowMeter). */
  constructor(options: { mergeable?: boolean } = {}) {
    this.#mergeable = options.mergeable === true;
  }

  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [
      instrumentation.on('batch.formed', (e) => this.#batchFormed(e.stage, e.records.length)),
      instrumentation.on('inference.done', (e) => this.#inferenceDone(e)),
      instrumentation.on('model.swapped', (e) => {
        this.#stage(e.stage, e.model).version = e.version;
        this.#change({ at: Date.now(), stage: e.stage, model: e.model, version: e.version, from: e.from, refused: undefined });
      }),
      instrumentation.on('model.refused', (e) => this.#change({ at: Date.now(), stage: e.stage, model: e.model, version: e.version, from: undefined, refused: e.reasons })),
      instrumentation.on('enrich.done', (e) => {
        let s = this.#enrich.get(e.stage);
        if (s === undefined) this.#enrich.set(e.stage, (s = { stage: e.stage, calls: 0, fallbacks: 0, errors: 0, meter: new WindowMeter({ mergeable: this.#mergeable }) }));
        s.calls += 1;
        s.fallbacks += e.fallbacks;
        if (e.error !== undefined) s.errors += 1;
        s.meter.observe(e.records.length, e.durationMs);
      }),
      instrumentation.on('enrich.breaker', (e) => (this.#breakers[e.stage] = e.state)),
      instrumentation.on('drift.window', (e) => {
        const drifted = new Set(e.drifted);
        this.#drift = { at: Date.now(), model: e.model, records: e.records, columns: [...e.features, e.score].map((c) => ({ name: c.name, psi: c.psi, ks: c.ks, drifted: drifted.has(c.name) })) };
      }),
      instrumentation.on('accuracy.window', (e) => {
        const r = e.result;
        this.#accuracy = { at: Date.now(), model: e.model, count: r.count, precision: r.precision, recall: r.recall, auc: r.auc };
      }),
    ];
    return () => offs.forEach((off) => off());
  }

  /** The records an infer or enrich stage reported, and its time window (for the graph). */
  meter(stage: string): WindowMeter | undefined {
    return this.#infer.get(stage)?.meter ?? this.#enrich.get(stage)?.meter;
  }

  /** The view since the last take, and the share of `workers` threads' time spent on batches. */
  take(seconds: number, workers: number): { view: ModelView; poolBusy: number; stageTimes: Map<string, ReturnType<WindowMeter['take']>> } {
    const stageTimes = new Map<string, ReturnType<WindowMeter['take']>>();
    const stages: InferenceStageView[] = [...this.#infer.values()].map((s) => {
      const window = s.meter.take(seconds);
      stageTimes.set(s.stage, window);
      return {
        stage: s.stage,
        model: s.model,
        version: s.version,
        batches: s.batches,
        records: s.records,
        errors: s.errors,
        fallbacks: s.fallbacks,
        time: window.time,
        batchSizes: histogram(this.#sizes.get(s.stage)),
      };
    });
    const enrich = [...this.#enrich.values()].map((s) => {
      const window = s.meter.take(seconds);
      stageTimes.set(s.stage, window);
      return { stage: s.stage, calls: s.calls, fallbacks: s.fallbacks, errors: s.errors, time: window.time };
    });
    const poolBusy = seconds > 0 && workers > 0 ? Math.min(1, this.#busyMs / (seconds * 1000 * workers)) : 0;
    this.#busyMs = 0;
    return { view: { stages, breakers: { ...this.#breakers }, enrich, changes: [...this.#changes], drift: this.#drift, accuracy: this.#accuracy }, poolBusy, stageTimes };
  }

  #batchFormed(stage: string, size: number): void {
    let sizes = this.#sizes.get(stage);
    if (sizes === undefined) this.#sizes.set(stage, (sizes = BATCH_BOUNDS.map(() => 0)));
    sizes[bucket(size)]! += 1;
  }

  #inferenceDone(e: InstrumentationEvents['inference.done']): void {
    const s = this.#stage(e.stage, e.model);
    s.batches += 1;
    s.records += e.records.length;
    if (s.version === undefined) s.version = versionOf(e.model, e.modelVersion);
    if (e.error !== undefined || e.scores === undefined) {
      s.errors += 1;
      s.fallbacks += e.records.length;
    } else {
      for (let i = 0; i < e.records.length; i += 1) if (!Number.isFinite(e.scores[i])) s.fallbacks += 1;
    }
    s.meter.observe(e.records.length, e.durationMs);
    if (e.worker !== undefined) this.#busyMs += Math.max(0, e.worker.endedAt - e.worker.startedAt);
  }

  #stage(stage: string, model: string): InferStage {
    let s = this.#infer.get(stage);
    if (s === undefined) {
      s = { stage, model: modelName(model), version: undefined, batches: 0, records: 0, errors: 0, fallbacks: 0, meter: new WindowMeter({ mergeable: this.#mergeable }) };
      this.#infer.set(stage, s);
    }
    return s;
  }

  #change(change: Mutable<ModelView['changes'][number]>): void {
    this.#changes.push(change);
    if (this.#changes.length > KEEP_CHANGES) this.#changes.shift();
  }
}

/** A registry version's file (`models/fraud/1/model.onnx`) as `fraud@1`; other files by their name. */
function modelName(path: string): string {
  const registry = /([^\\/]+)[\\/](\d+)[\\/][^\\/]+\.onnx$/.exec(path);
  return registry === null ? path.replace(/^.*[\\/]/, '') : `${registry[1]}@${registry[2]}`;
}

/** The version a worker reported, unless it is only the file's stem (`model`), where the registry path says more. */
function versionOf(path: string, reported: string | undefined): string | undefined {
  const stem = path.replace(/^.*[\\/]/, '').replace(/\.onnx$/, '');
  if (reported !== undefined && reported !== stem) return reported;
  const name = modelName(path);
  return name.includes('@') ? name : reported;
}

/** Buckets up to the largest one used (a histogram of small batches does not trail empty ones). */
function histogram(sizes: readonly number[] | undefined): Array<{ le: number; count: number }> {
  if (sizes === undefined) return [];
  let last = sizes.length - 1;
  while (last >= 0 && sizes[last] === 0) last -= 1;
  return BATCH_BOUNDS.slice(0, last + 1).map((le, i) => ({ le, count: sizes[i]! }));
}

function bucket(size: number): number {
  let i = 0;
  while (i < BATCH_BOUNDS.length - 1 && size > BATCH_BOUNDS[i]!) i += 1;
  return i;
}
