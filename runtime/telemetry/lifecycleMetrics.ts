import { Counter, Gauge, type Registry } from 'prom-client';
import type { Instrumentation, InstrumentationEvents } from '../../core/instrumentation.ts';
import { BucketHistogram, type HistogramCell } from './bucketHistogram.ts';

const DELTA_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** `fraud@2` → ['fraud', '2']; a bare file's id (`fraud-v1`) has no version number. */
function split(id: string): [string, string] {
  const at = id.lastIndexOf('@');
  return at < 0 ? [id, ''] : [id.slice(0, at), id.slice(at + 1)];
}

/**
 * The model-lifecycle metrics of a job, named as docs/alerts expects: versions swapped in and
 * refused, the version serving, and how a shadow model agrees with it (decision flips, score
 * deltas, shadow latency). Fed by `model.swapped`, `model.refused` and `shadow.compared`.
 *
 * @example
 * const lifecycle = new LifecycleMetrics([registry]);
 * const off = lifecycle.subscribe(instrumentation);
 */
export class LifecycleMetrics {
  readonly #swaps: Counter<'model' | 'version'>;
  readonly #refused: Counter<'model' | 'version'>;
  readonly #active: Gauge<'model'>;
  readonly #flips: Counter<'model' | 'shadow'>;
  readonly #shadowRecords: Counter<'model' | 'shadow'>;
  readonly #shadowSkipped: Counter<'model'>;
  readonly #shadowErrors: Counter<'model' | 'shadow'>;
  readonly #maxDelta: Gauge<'model' | 'shadow'>;
  readonly #delta: BucketHistogram<'model' | 'shadow'>;
  readonly #latency: BucketHistogram<'model' | 'shadow'>;
  /** The cells of the last label pair: a shadow compares the same pair batch after batch. */
  #last: { key: string; delta: HistogramCell; latency: HistogramCell } | undefined;
  /** prom-client gauges have no max(): the largest delta per label pair is kept here. */
  readonly #maxSeen = new Map<string, number>();

  constructor(registers: Registry[]) {
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers });
    this.#swaps = counter('sluice_model_swaps_total', 'Model versions swapped in while the job ran (version: the one now serving).', ['model', 'version']);
    this.#refused = counter('sluice_model_refused_total', 'Candidate model versions that failed validation; the serving version stayed.', ['model', 'version']);
    this.#active = new Gauge({ name: 'sluice_model_active_version', help: 'Registry version number now serving.', labelNames: ['model'], registers });
    this.#flips = counter('sluice_shadow_flips_total', 'Records whose decision at the threshold differs between the serving and the shadow model.', ['model', 'shadow']);
    this.#shadowRecords = counter('sluice_shadow_records_total', 'Records scored by the shadow model and compared.', ['model', 'shadow']);
    this.#shadowSkipped = counter('sluice_shadow_skipped_records_total', 'Records not shadowed because every shadow slot was busy.', ['model']);
    this.#shadowErrors = counter('sluice_shadow_errors_total', 'Shadow batches that failed (the output never depends on them).', ['model', 'shadow']);
    this.#maxDelta = new Gauge({ name: 'sluice_shadow_score_delta_max', help: 'Largest |serving - shadow| score seen.', labelNames: ['model', 'shadow'], registers });
    this.#delta = new BucketHistogram({ name: 'sluice_shadow_score_delta', help: '|serving score - shadow score| per record.', labelNames: ['model', 'shadow'], buckets: DELTA_BUCKETS, registers });
    this.#latency = new BucketHistogram({ name: 'sluice_shadow_latency_seconds', help: 'Time the shadow model took per batch.', labelNames: ['model', 'shadow'], buckets: LATENCY_BUCKETS, registers });
  }

  /** Listens to the job's lifecycle and shadow events; returns the unsubscribe. */
  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [
      instrumentation.on('model.swapped', (e) => this.#swapped(e)),
      instrumentation.on('model.refused', (e) => this.#refused.inc({ model: e.model, version: split(e.version)[1] })),
      instrumentation.on('shadow.compared', (e) => this.#compared(e)),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  #swapped(e: InstrumentationEvents['model.swapped']): void {
    const [, version] = split(e.version);
    if (e.from !== undefined) this.#swaps.inc({ model: e.model, version });
    if (version !== '') this.#active.set({ model: e.model }, Number(version));
  }

  #compared(e: InstrumentationEvents['shadow.compared']): void {
    const model = e.model ?? 'unknown';
    if (e.skipped) {
      this.#shadowSkipped.inc({ model }, e.records);
      return;
    }
    const shadow = e.shadow ?? 'unknown';
    if (e.error !== undefined || e.deltas === undefined) {
      this.#shadowErrors.inc({ model, shadow });
      return;
    }
    const key = `${model}\n${shadow}`;
    let cells = this.#last;
    if (cells?.key !== key) {
      cells = { key, delta: this.#delta.cell({ model, shadow }), latency: this.#latency.cell({ model, shadow }) };
      this.#last = cells;
    }
    let max = 0;
    for (const delta of e.deltas) {
      cells.delta.observe(delta);
      if (delta > max) max = delta;
    }
    cells.latency.observe(e.durationMs / 1000);
    this.#flips.inc({ model, shadow }, e.flips);
    this.#shadowRecords.inc({ model, shadow }, e.records);
    const seen = this.#maxSeen.get(key) ?? 0;
    if (max > seen || !this.#maxSeen.has(key)) {
      this.#maxSeen.set(key, Math.max(seen, max));
      this.#maxDelta.set({ model, shadow }, Math.max(seen, max));
    }
  }
}
