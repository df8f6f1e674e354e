import { Gauge, type Registry } from 'prom-client';
import type { Instrumentation, InstrumentationEvents } from '../../core/instrumentation.ts';

/**
 * The model-monitoring gauges of a job, set from the `drift.window` and `accuracy.window`
 * events (once per window, never per record), named as the alert rules in
 * docs/alerts/sluice-rules.yml expect. A window without data sets NaN, which never fires an alert.
 *
 * @example
 * const model = new ModelMetrics([registry]);
 * const off = model.subscribe(instrumentation);
 */
export class ModelMetrics {
  readonly #featurePsi: Gauge<'model' | 'feature'>;
  readonly #featureKs: Gauge<'model' | 'feature'>;
  readonly #scorePsi: Gauge<'model'>;
  readonly #scoreKs: Gauge<'model'>;
  readonly #driftRecords: Gauge<'model'>;
  readonly #precision: Gauge<'model'>;
  readonly #recall: Gauge<'model'>;
  readonly #auc: Gauge<'model'>;
  readonly #labelled: Gauge<'model'>;

  constructor(registers: Registry[]) {
    const byModel = (name: string, help: string) => new Gauge({ name, help, labelNames: ['model'], registers });
    const byFeature = (name: string, help: string) => new Gauge({ name, help, labelNames: ['model', 'feature'], registers });
    this.#featurePsi = byFeature('sluice_feature_drift_psi', "PSI of each feature over the last drift window against the model manifest's reference histogram.");
    this.#featureKs = byFeature('sluice_feature_drift_ks', 'Largest CDF distance of each feature at the reference bin edges, last drift window.');
    this.#scorePsi = byModel('sluice_score_drift_psi', 'PSI of the model scores over the last drift window against the reference.');
    this.#scoreKs = byModel('sluice_score_drift_ks', 'Largest CDF distance of the scores at the reference bin edges, last drift window.');
    this.#driftRecords = byModel('sluice_drift_window_records', 'Rows in the last drift window (PSI means little on a few).');
    this.#precision = byModel('sluice_online_precision', 'Precision at the threshold over the last online-accuracy window of labelled decisions.');
    this.#recall = byModel('sluice_online_recall', 'Recall at the threshold over the last online-accuracy window.');
    this.#auc = byModel('sluice_online_auc', 'Exact ROC AUC over the last online-accuracy window.');
    this.#labelled = byModel('sluice_online_labelled_records', 'Labelled decisions in the last online-accuracy window.');
  }

  /** Listens to the job's window events; returns the unsubscribe. */
  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [instrumentation.on('drift.window', (e) => this.#drift(e)), instrumentation.on('accuracy.window', (e) => this.#accuracy(e))];
    return () => {
      for (const off of offs) off();
    };
  }

  #drift({ model, features, score, records }: InstrumentationEvents['drift.window']): void {
    for (const feature of features) {
      this.#featurePsi.set({ model, feature: feature.name }, feature.psi);
      this.#featureKs.set({ model, feature: feature.name }, feature.ks);
    }
    this.#scorePsi.set({ model }, score.psi);
    this.#scoreKs.set({ model }, score.ks);
    this.#driftRecords.set({ model }, records);
  }

  #accuracy({ model, result }: InstrumentationEvents['accuracy.window']): void {
    this.#precision.set({ model }, result.precision);
    this.#recall.set({ model }, result.recall);
    this.#auc.set({ model }, result.auc);
    this.#labelled.set({ model }, result.count);
  }
}

/**
 * Span attributes of a drift window (`sluice.drift.<column>.psi` / `.ks`), for a tracer that
 * records one span per window.
 *
 * @example
 * tracer.startSpan(`drift ${e.model}`, { attributes: driftSpanAttributes(e) }).end();
 */
export function driftSpanAttributes(event: InstrumentationEvents['drift.window']): Record<string, string | number> {
  const attributes: Record<string, string | number> = { 'sluice.model': event.model, 'sluice.stage': event.stage, 'sluice.drift.records': event.records, 'sluice.drift.drifted': event.drifted.join(',') };
  for (const column of [...event.features, event.score]) {
    attributes[`sluice.drift.${column.name}.psi`] = column.psi;
    attributes[`sluice.drift.${column.name}.ks`] = column.ks;
  }
  return attributes;
}
