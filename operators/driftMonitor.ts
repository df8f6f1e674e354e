import { Observable, type OperatorFunction } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import { systemClock } from '../core/clock.ts';
import type { DriftWindowSnapshot } from '../core/drift/index.ts';
import { operatorContext } from '../core/engine/operatorContext.ts';
import { InvalidOptionError, requireNonNegativeNumber, requirePositiveInteger, SluiceError, StageError } from '../core/errors.ts';
import type { Envelope } from '../core/record.ts';
import { driftColumns, type Manifest } from '../runtime/models/index.ts';
import type { StageOptions } from './internal/operate.ts';
import { DriftCounts, type DriftReport, type DriftThresholds } from './monitoring/driftCounts.ts';
import { loadReference } from './monitoring/reference.ts';
import { tumblingTimer, type TumblingTimer } from './monitoring/tumblingTimer.ts';
import { stateScope } from './withState.ts';

export type { DriftReport, DriftThresholds };

export interface DriftMonitorOptions<T> {
  /**
   * The training distributions to compare against: a model manifest, or a path — a registry
   * (`models/fraud`, its newest version), a pinned version (`models/fraud@1`) or a manifest.json.
   */
  readonly reference: Manifest | string;
  /** The model's input row of a value, in the manifest's feature order. */
  readonly features: (value: T) => ArrayLike<number>;
  /** The model's score of a value; return NaN for a fallback score, which is counted apart, not binned. */
  readonly score: (value: T) => number;
  /** Length of the tumbling processing-time windows (ms), aligned to the epoch. */
  readonly windowMs: number;
  /** PSI above which a column is reported drifted; 0.2 for every column by default. */
  readonly thresholds?: DriftThresholds;
  /**
   * Event time (ms) at the start of each source partition whose records are not counted: keyed
   * features computed from empty state (a fresh start, no checkpoint) are not the features of a
   * running stream. Default 0; the fraud features need 24 h (their longest look-back).
   */
  readonly warmupMs?: number;
  /** Windows with fewer rows report no drifted column (PSI of a handful of rows is noise). Default 100. */
  readonly minRecords?: number;
  /** Called with each window's report (also sent as the `drift.window` instrumentation event). */
  readonly onWindow?: (report: DriftReport) => void;
}

interface DriftMonitorSnapshot {
  readonly version: 1;
  readonly scopes: Record<string, DriftWindowSnapshot>;
  /** First event time seen per partition, for the warm-up. */
  readonly firstSeen: Record<string, number>;
}

/**
 * Watches the model's inputs and scores for drift: records pass through unchanged, and at the end
 * of every tumbling processing-time window the PSI and the KS-type distance of each feature and
 * of the score against the manifest's reference histograms go out as a `drift.window` event
 * (Prometheus gauges `sluice_feature_drift_psi{model,feature}`, `sluice_score_drift_psi{model}`,
 * ...). State is bin counts (O(bins) per column), checkpointed per source partition; a stop that
 * will be resumed keeps the open window, the real end of the input reports it.
 *
 * @example
 * scored.pipe(
 *   driftMonitor({ reference: 'models/fraud', windowMs: 60_000,
 *                  features: (s) => s.features, score: (s) => (s.prediction.fallback ? NaN : s.prediction.score) }),
 * )
 */
export function driftMonitor<T>(options: DriftMonitorOptions<T>, stageOptions?: StageOptions): OperatorFunction<Envelope<T>, Envelope<T>> {
  if (typeof options?.features !== 'function' || typeof options.score !== 'function') throw new InvalidOptionError('driftMonitor(): features and score must be functions of a record value');
  const windowMs = requirePositiveInteger('driftMonitor windowMs', options.windowMs);
  const minRecords = requireNonNegativeNumber('driftMonitor minRecords', options.minRecords ?? 100);
  const warmupMs = requireNonNegativeNumber('driftMonitor warmupMs', options.warmupMs ?? 0);
  const reference = loadReference(options.reference);
  const columns = driftColumns(reference.manifest);
  const width = columns.length - 1;
  // Checks thresholds and histograms now, when the job file loads, not at the first record.
  new DriftCounts(columns, options.thresholds ?? {}, minRecords);

  // Not built on `operate`: the window timer reports outside `next`.
  return (source) =>
    new Observable<Envelope<T>>((subscriber) => {
      const ctx = operatorContext();
      const stage = ctx?.uniqueStage(stageOptions?.stage ?? 'drift') ?? stageOptions?.stage ?? 'drift';
      const counts = new DriftCounts(columns, options.thresholds ?? {}, minRecords);
      const row = new Float64Array(width + 1);
      const firstSeen = new Map<string, number>();
      const scheduler = ctx?.scheduler ?? asyncScheduler;
      const clock = ctx?.clock ?? systemClock;
      ctx?.checkpointed(stage, {
        snapshot: (scopes): DriftMonitorSnapshot => {
          const list = scopes === undefined ? undefined : [...scopes];
          const seen = Object.fromEntries([...firstSeen].filter(([scope]) => list === undefined || list.includes(scope)));
          return { version: 1, scopes: counts.snapshot(list), firstSeen: seen };
        },
        restore: (saved) => {
          const snapshot = saved as DriftMonitorSnapshot;
          if (snapshot.version !== 1) throw new SluiceError(`drift snapshot version ${String(snapshot.version)} of stage ${stage} is not supported (expected 1)`);
          counts.restore(snapshot.scopes);
          for (const [scope, time] of Object.entries(snapshot.firstSeen)) firstSeen.set(scope, time);
        },
        dropScope: (scope) => {
          counts.dropScope(scope);
          firstSeen.delete(scope);
        },
      });
      const report = (start: number, end: number) => {
        const result = counts.close(reference.id, start, end);
        const instrumentation = ctx?.instrumentation;
        if (instrumentation?.wants('drift.window') === true) instrumentation.emit('drift.window', { stage, ...result });
        options.onWindow?.(result);
      };
      let timer: TumblingTimer | undefined;
      const fail = (error: unknown, record?: Envelope<T>) => subscriber.error(error instanceof StageError ? error : new StageError(stage, record?.position, error));
      try {
        timer = tumblingTimer(scheduler, clock, windowMs, (start, end) => {
          try {
            report(start, end);
          } catch (error) {
            fail(error);
          }
        });
      } catch (error) {
        fail(error);
        return undefined;
      }
      const count = (record: Envelope<T>) => {
        const scope = stateScope(record);
        if (warmupMs > 0) {
          let first = firstSeen.get(scope);
          if (first === undefined) firstSeen.set(scope, (first = record.timestamp));
          if (record.timestamp < first + warmupMs) return;
        }
        const features = options.features(record.value);
        if (features.length !== width) throw new InvalidOptionError(`driftMonitor: features() gave ${features.length} values, the model ${reference.id} has ${width} features`);
        for (let i = 0; i < width; i++) row[i] = features[i]!;
        row[width] = options.score(record.value);
        counts.add(scope, row);
      };
      const subscription = source.subscribe({
        next: (record) => {
          try {
            count(record);
          } catch (error) {
            fail(error, record);
            return;
          }
          subscriber.next(record);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          const start = timer?.start ?? clock.now();
          timer?.stop();
          // The real end of the input reports the partial window; a resumable stop keeps it in the checkpoint.
          if ((ctx?.atEnd() ?? 'fire') === 'fire' && counts.records > 0) {
            try {
              report(start, clock.now());
            } catch (error) {
              fail(error);
              return;
            }
          }
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        timer?.stop();
      };
    });
}
