import { describeError } from '../../core/errors.ts';
import type { InferenceRequest, InferenceResult, ModelHandle } from '../../core/inference.ts';
import type { Instrumentation } from '../../core/instrumentation.ts';

type ShadowOutcome = { result: InferenceResult; durationMs: number } | { error: string; durationMs: number };

/**
 * Scores each batch with a shadow (candidate) model beside the serving one and reports how they
 * agree as a `shadow.compared` event. It never touches the output: the batch's records leave
 * with the serving model's scores whether the shadow answers, fails or is still running. At
 * most `maxInFlight` shadow batches run at once; past that a batch goes unshadowed (reported as
 * `skipped`), so a slow shadow cannot hold memory or slots.
 *
 * @example
 * const shadow = new ShadowScoring(shadowHandle, () => 0.7, 8, 'infer', instrumentation);
 * const compare = shadow.start(request);          // before the serving run: the request's buffers move to a worker
 * compare(await serving.run(request), 'fraud@1'); // emits flips and deltas once the shadow answers
 */
export class ShadowScoring {
  #inFlight = 0;

  constructor(
    private readonly handle: ModelHandle,
    private readonly threshold: () => number,
    private readonly maxInFlight: number,
    private readonly stage: string,
    private readonly instrumentation: Instrumentation,
  ) {}

  /** Starts the shadow on a copy of the request; call the result with the serving model's answer. */
  start(request: InferenceRequest): (primary: InferenceResult | undefined, primaryVersion: string | undefined) => void {
    if (this.#inFlight >= this.maxInFlight) {
      this.#report(undefined, request.rows, 0, undefined, 0, undefined, true);
      return () => {};
    }
    this.#inFlight += 1;
    const copy: InferenceRequest = {
      features: request.features.slice(0, request.rows * request.columns),
      rows: request.rows,
      columns: request.columns,
      timeoutMs: request.timeoutMs,
      ...(request.inputs === undefined ? {} : { inputs: Object.fromEntries(Object.entries(request.inputs).map(([name, t]) => [name, { data: t.data.slice(), columns: t.columns }])) }),
    };
    const startedAt = performance.now();
    const shadow: Promise<ShadowOutcome> = this.handle.run(copy).then(
      (result) => ({ result, durationMs: performance.now() - startedAt }),
      (error: unknown) => ({ error: describeError(error), durationMs: performance.now() - startedAt }),
    );
    void shadow.finally(() => (this.#inFlight -= 1));
    return (primary, primaryVersion) => {
      void shadow.then((outcome) => this.#compare(primary, primaryVersion, outcome, request.rows));
    };
  }

  #compare(primary: InferenceResult | undefined, primaryVersion: string | undefined, outcome: ShadowOutcome, rows: number): void {
    if ('error' in outcome) {
      this.#report(primaryVersion, rows, 0, undefined, outcome.durationMs, outcome.error, false);
      return;
    }
    if (primary === undefined) {
      this.#report(primaryVersion, rows, 0, undefined, outcome.durationMs, 'the serving model failed: nothing to compare with', false);
      return;
    }
    const threshold = this.threshold();
    const deltas = new Float32Array(rows);
    let flips = 0;
    for (let i = 0; i < rows; i += 1) {
      const served = primary.scores[i]!;
      const shadowed = outcome.result.scores[i]!;
      deltas[i] = Math.abs(served - shadowed);
      if (served >= threshold !== shadowed >= threshold) flips += 1;
    }
    this.#report(primaryVersion, rows, flips, deltas, outcome.durationMs, undefined, false, outcome.result.modelVersion);
  }

  #report(model: string | undefined, records: number, flips: number, deltas: Float32Array | undefined, durationMs: number, error: string | undefined, skipped: boolean, shadow = this.handle.version): void {
    if (!this.instrumentation.wants('shadow.compared')) return;
    this.instrumentation.emit('shadow.compared', { stage: this.stage, model, shadow, records, flips, deltas, durationMs, error, skipped });
  }
}
