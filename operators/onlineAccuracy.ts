import { Observable, type OperatorFunction } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import { AccuracyWindow, type AccuracyResult, type AccuracyWindowSnapshot } from '../core/accuracy/index.ts';
import { systemClock } from '../core/clock.ts';
import { operatorContext } from '../core/engine/operatorContext.ts';
import { InvalidOptionError, requirePositiveInteger, SluiceError, StageError } from '../core/errors.ts';
import type { Envelope } from '../core/record.ts';
import type { StageOptions } from './internal/operate.ts';
import { ScopedWindows } from './monitoring/scopedWindows.ts';
import { tumblingTimer, type TumblingTimer } from './monitoring/tumblingTimer.ts';
import { stateScope } from './withState.ts';

export interface OnlineAccuracyOptions<T> {
  /** The model that scored a value (`fraud@1`): the `model` label of the gauges. */
  readonly model: string | ((value: T) => string);
  /** Flagged = score >= threshold, as the job decides. */
  readonly threshold: number;
  /** The score of a labelled decision; a non-finite one (a fallback) is left out. */
  readonly score: (value: T) => number;
  /** Its ground truth: true (or 1) for fraud. */
  readonly label: (value: T) => boolean | 0 | 1;
  /** Length of the tumbling processing-time windows (ms), aligned to the epoch. */
  readonly windowMs: number;
  /** Called with each model's figures at the end of each window (also the `accuracy.window` event). */
  readonly onWindow?: (report: AccuracyReport) => void;
}

/** One window's online accuracy of one model. */
export interface AccuracyReport {
  readonly model: string;
  readonly start: number;
  readonly end: number;
  readonly result: AccuracyResult;
}

interface OnlineAccuracySnapshot {
  readonly version: 1;
  readonly models: Record<string, Record<string, AccuracyWindowSnapshot>>;
}

/**
 * Online accuracy from labelled decisions (an `intervalJoin` of decisions with late labels):
 * records pass through unchanged, and at the end of every tumbling processing-time window the
 * precision and recall at the threshold and the exact AUC of the pairs seen go out per model as
 * an `accuracy.window` event (gauges `sluice_online_precision{model}`, `sluice_online_recall`,
 * `sluice_online_auc`, `sluice_online_labelled_records`). The pairs are checkpointed per source
 * partition. A window without pairs reports NaN figures, which never cross an alert threshold.
 *
 * @example
 * labelled.pipe(onlineAccuracy({ model: (p) => p.modelVersion, threshold: 0.7, windowMs: 60_000,
 *                                score: (p) => p.score, label: (p) => p.isFraud }))
 */
export function onlineAccuracy<T>(options: OnlineAccuracyOptions<T>, stageOptions?: StageOptions): OperatorFunction<Envelope<T>, Envelope<T>> {
  if (typeof options?.score !== 'function' || typeof options.label !== 'function') throw new InvalidOptionError('onlineAccuracy(): score and label must be functions of a record value');
  const windowMs = requirePositiveInteger('onlineAccuracy windowMs', options.windowMs);
  const threshold = new AccuracyWindow({ threshold: options.threshold }).threshold;
  const modelOf = typeof options.model === 'function' ? options.model : () => options.model as string;
  if (typeof options.model === 'string' && options.model === '') throw new InvalidOptionError('onlineAccuracy(): model must name the model, e.g. fraud@1');

  return (source) =>
    new Observable<Envelope<T>>((subscriber) => {
      const ctx = operatorContext();
      const stage = ctx?.uniqueStage(stageOptions?.stage ?? 'online-accuracy') ?? stageOptions?.stage ?? 'online-accuracy';
      const scheduler = ctx?.scheduler ?? asyncScheduler;
      const clock = ctx?.clock ?? systemClock;
      const fresh = () => new ScopedWindows<AccuracyWindow, AccuracyWindowSnapshot>(() => new AccuracyWindow({ threshold }), (w) => w.snapshot(), (w, s) => w.restore(s));
      const models = new Map<string, ScopedWindows<AccuracyWindow, AccuracyWindowSnapshot>>();
      const windowsOf = (model: string) => {
        let windows = models.get(model);
        if (windows === undefined) models.set(model, (windows = fresh()));
        return windows;
      };
      ctx?.checkpointed(stage, {
        snapshot: (scopes): OnlineAccuracySnapshot => {
          const list = scopes === undefined ? undefined : [...scopes];
          return { version: 1, models: Object.fromEntries([...models].map(([model, windows]) => [model, windows.snapshot(list)])) };
        },
        restore: (saved) => {
          const snapshot = saved as OnlineAccuracySnapshot;
          if (snapshot.version !== 1) throw new SluiceError(`online accuracy snapshot version ${String(snapshot.version)} of stage ${stage} is not supported (expected 1)`);
          for (const [model, scopes] of Object.entries(snapshot.models)) windowsOf(model).restore(scopes);
        },
        dropScope: (scope) => {
          for (const windows of models.values()) windows.dropScope(scope);
        },
      });
      // Every model seen keeps reporting (NaN for an empty window), so its gauges do not go stale.
      const report = (start: number, end: number) => {
        for (const [model, windows] of models) {
          const combined = new AccuracyWindow({ threshold });
          const scores: number[] = [];
          const labels: number[] = [];
          for (const window of windows.values()) {
            const saved = window.snapshot();
            scores.push(...saved.scores);
            labels.push(...saved.labels);
          }
          combined.restore({ scores, labels });
          windows.clear();
          const result = { model, start, end, result: combined.result() };
          const instrumentation = ctx?.instrumentation;
          if (instrumentation?.wants('accuracy.window') === true) instrumentation.emit('accuracy.window', { stage, ...result });
          options.onWindow?.(result);
        }
      };
      const fail = (error: unknown, record?: Envelope<T>) => subscriber.error(error instanceof StageError ? error : new StageError(stage, record?.position, error));
      let timer: TumblingTimer | undefined;
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
      const subscription = source.subscribe({
        next: (record) => {
          try {
            const score = options.score(record.value);
            if (Number.isFinite(score)) windowsOf(modelOf(record.value)).get(stateScope(record)).add(score, Number(options.label(record.value)));
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
          const held = [...models.values()].some((windows) => [...windows.values()].some((window) => window.count > 0));
          if ((ctx?.atEnd() ?? 'fire') === 'fire' && held) {
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
