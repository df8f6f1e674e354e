import './onnxTelemetry.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Piscina } from 'piscina';
import { describeError, InferenceTimeoutError, InvalidOptionError, ModelError, requirePositiveInteger } from '../core/errors.ts';
import type { InferenceRequest, InferenceResult, InferenceService, ModelHandle, ModelOptions } from '../core/inference.ts';
import type { ScoreResult, ScoreTask, WarmUpResult, WireTensor } from './inferenceWorker.ts';
import type { Clock } from '../core/clock.ts';
import { LiveModel, type LiveModelSettings } from './models/liveModel.ts';
import { modelFitProblems } from './models/fit.ts';
import type { Signature } from './models/signature.ts';
import { BusyMeter } from './telemetry/busyMeter.ts';
import { InlinePlacement } from './inlinePlacement.ts';
import { workerExecArgv } from './workerExecArgv.ts';

/** Options of the worker pool. */
export interface InferencePoolOptions {
  /** Worker threads; each loads every model it is asked for once. */
  workers: number;
  /** Times the workers' busy periods for {@link InferencePool.utilization}; tests pass a TestClock. */
  clock?: Clock;
  /** How registry models notice new versions and pins (poll periods, where swap lines go). */
  models?: LiveModelSettings;
  /**
   * A batch is scored on the calling thread (blocking it) when no batch is in a worker and the
   * model's batches of its size took at most this many ms lately (runtime/inlinePlacement.ts):
   * no hop to a worker and back, which costs milliseconds at p99 on a busy machine
   * (bench/poolHop.ts). A batch scored here is not cut short by its timeout. 0: every batch to
   * a worker. Default SLUICE_INLINE_MS, else 0: end to end it measured within the noise here
   * (docs/performance.md), and a large model that is fast would be loaded twice.
   */
  inlineMs?: number;
}

/**
 * ONNX inference on a Piscina pool of worker threads. Batches travel to the worker as
 * transferred Float32Arrays (no copy). A batch that outlives its timeout is answered with an
 * InferenceTimeoutError at once; its worker finishes the batch (the answer is dropped) and is
 * busy until then — a thread inside onnxruntime cannot be stopped safely.
 *
 * @example
 * const pool = new InferencePool({ workers: 2 });
 * const model = pool.model('models/fraud-v1.onnx');
 * const { scores } = await model.run({ features, rows: 64, columns: 10, timeoutMs: 1000 });
 * await pool.close();
 */
export class InferencePool implements InferenceService {
  readonly workers: number;
  readonly #pool: Piscina;
  readonly #models = new Map<string, ModelHandle>();
  /** Batches being scored, in a worker or on this thread, timed-out ones included. */
  readonly #running = new Set<Promise<ScoreResult>>();
  /** Of those, the ones in a worker. */
  #inWorkers = 0;
  /** Loads not yet seen by ready(), with the handle each belongs to. */
  #warmUps: Array<{ key: string; loading: Promise<void> }> = [];
  readonly #live: LiveModel[] = [];
  readonly #busy: BusyMeter;
  readonly #liveSettings: LiveModelSettings;
  readonly #onHangUp = (): void => void this.reload(true);
  readonly #placement: InlinePlacement;
  /** The worker's module, loaded on this thread once a batch could be scored here. */
  #here: Promise<typeof import('./inferenceWorker.ts')> | undefined;
  /** Model files loaded on this thread, or on the way; a file that failed to load here stays on the workers. */
  readonly #loadedHere = new Map<string, 'loading' | 'ready' | 'failed'>();
  /** How many registry handles serve each model file. */
  readonly #held = new Map<string, number>();
  /** Batches of each model file being scored. */
  readonly #scoring = new Map<string, number>();
  /** Files no handle serves any more, to unload once their last batch is done. */
  readonly #released = new Set<string>();

  constructor(options: InferencePoolOptions) {
    this.workers = requirePositiveInteger('workers', options.workers);
    this.#busy = new BusyMeter(this.workers, options.clock);
    this.#liveSettings = options.models ?? {};
    this.#placement = new InlinePlacement(inlineMsOf(options.inlineMs ?? (process.env.SLUICE_INLINE_MS || undefined) ?? 0));
    this.#pool = new Piscina({
      filename: new URL('./inferenceWorker.ts', import.meta.url).href,
      minThreads: this.workers,
      maxThreads: this.workers,
      // The parent's execArgv carries tsx's loader for the .ts file (less what workers refuse).
      execArgv: workerExecArgv(),
      idleTimeout: 60_000,
    });
  }

  /**
   * Resolves once every model asked for is loaded in the workers; rejects with one readable
   * ModelError when a model file cannot be loaded (a job fails at start, not at its first batch).
   */
  async ready(): Promise<void> {
    const loads = this.#warmUps;
    const settled = await Promise.allSettled(loads.map((load) => load.loading));
    // A load seen by ready() is done with; a failed one is forgotten, so asking again retries it.
    this.#warmUps = this.#warmUps.filter((load) => !loads.includes(load));
    let failure: unknown;
    settled.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') return;
      const handle = this.#models.get(loads[i]!.key);
      if (handle instanceof LiveModel) {
        handle.close();
        this.#live.splice(this.#live.indexOf(handle), 1);
      }
      this.#models.delete(loads[i]!.key);
      failure ??= outcome.reason;
    });
    if (failure !== undefined) throw failure;
  }

  /**
   * Runs the worker module's export `name` once on every worker thread: one task per thread at
   * once (an idle thread takes one each), and again for threads a busy round missed; a thread
   * missed four rounds is left out. Resolves with one answer per thread reached.
   */
  async #onEveryWorker<R extends { threadId: number }>(name: string, task: object): Promise<Map<number, R>> {
    const answers = new Map<number, R>();
    for (let round = 0; round < 4 && answers.size < this.workers; round += 1) {
      const results = await Promise.all(Array.from({ length: this.workers - answers.size }, () => this.#pool.run(task, { name }) as Promise<R>));
      for (const result of results) if (!answers.has(result.threadId)) answers.set(result.threadId, result);
    }
    return answers;
  }

  /** Loads a model file on every worker thread, so a swap finds the new version loaded wherever the next batch lands. */
  async #warmUpAll(modelPath: string, version: string | undefined): Promise<WarmUpResult> {
    // Loaded again (a rollback to a version released a moment ago): its pending unload is off.
    this.#released.delete(modelPath);
    const loaded = await this.#onEveryWorker<WarmUpResult>('warmUp', { modelPath, version });
    return loaded.values().next().value!;
  }

  /** Loads a bare .onnx file at start and checks that it fits the caller. */
  async #warmUpFile(modelPath: string, shownPath: string, options: ModelOptions): Promise<void> {
    let warm: WarmUpResult;
    try {
      warm = await this.#warmUpAll(modelPath, undefined);
    } catch (error) {
      throw new ModelError(`model ${shownPath} could not be loaded: ${describeError(error).split('\n')[0]} — is it an ONNX file with a [batch, features] float32 input?`, { cause: error });
    }
    const problems = modelFitProblems({ inputs: warm.inputs, outputs: warm.outputs } as Signature, options, undefined);
    if (problems.length > 0) throw new ModelError(`model ${shownPath} does not fit: ${problems.join('; ')}`);
  }

  /** Tasks waiting for a free worker thread. */
  get queueSize(): number {
    return this.#pool.queueSize;
  }

  /**
   * Fraction of the workers' time spent running batches since the previous read (0..1): the
   * metrics read it once per scrape, so it is the utilisation over the scrape interval.
   * Measured here, not taken from piscina 5.3, whose `utilization` mixes seconds and ms.
   */
  get utilization(): number {
    return this.#busy.sample();
  }

  /**
   * A handle on a model: an .onnx file (throws ModelError at once when it does not exist), or a
   * registry spec (`models/fraud`, `models/fraud@2`, `models/fraud@next`) resolved, checked and
   * followed by a {@link LiveModel}. Load errors surface in {@link ready}.
   */
  model(spec: string, options: ModelOptions = {}): ModelHandle {
    const file = spec.endsWith('.onnx');
    const key = `${file ? resolve(spec) : spec}\n${JSON.stringify(options)}`;
    let handle = this.#models.get(key);
    if (handle !== undefined) return handle;
    if (file) {
      const absolute = resolve(spec);
      if (!existsSync(absolute)) {
        throw new ModelError(`model file not found: ${spec} — run \`npm run train\` to build it, or point the job at an existing .onnx file`);
      }
      this.#warmUps.push({ key, loading: this.#warmUpFile(absolute, spec, options) });
      handle = this.#fileHandle(absolute, options);
    } else {
      const live = new LiveModel(spec, options, {
        warmUp: (modelPath, version) => this.#warmUpAll(modelPath, version),
        score: (modelPath, version, request, modelOptions) => this.#score(modelPath, version, request, modelOptions),
        hold: (modelPath) => this.#hold(modelPath),
        release: (modelPath) => this.#release(modelPath),
      }, this.#liveSettings);
      if (this.#live.length === 0) process.on('SIGHUP', this.#onHangUp);
      this.#live.push(live);
      this.#warmUps.push({ key, loading: live.start() });
      handle = live;
    }
    this.#models.set(key, handle);
    return handle;
  }

  /**
   * Re-reads every registry model's pin file and scans its registry now (SIGHUP does this).
   * `force` tries a pin again that was refused before.
   */
  async reload(force = false): Promise<void> {
    await Promise.all(this.#live.map((live) => live.reload(force)));
  }

  /**
   * Waits (up to `graceMs`) for batches still running — a slow model's included — then stops the
   * threads. A worker stuck in a model for longer is stopped anyway.
   */
  async close(graceMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    // Stopping a thread while onnxruntime computes aborts the process: let running batches end.
    await Promise.race([Promise.allSettled(this.#running), grace]);
    clearTimeout(timer);
    for (const live of this.#live) live.close();
    if (this.#live.length > 0) process.off('SIGHUP', this.#onHangUp);
    await this.#pool.close({ force: true });
  }

  /**
   * The model files each worker thread has loaded, by thread id (and this thread's, for batches
   * scored here): what a long-running job with hot swaps keeps in memory.
   */
  async loadedModels(): Promise<Map<number, string[]>> {
    const answers = await this.#onEveryWorker<{ threadId: number; modelPaths: string[] }>('loadedModels', {});
    const found = new Map([...answers].map(([thread, answer]) => [thread, answer.modelPaths]));
    if (this.#here !== undefined) {
      const here = (await this.#here).loadedModels();
      found.set(here.threadId, here.modelPaths);
    }
    return found;
  }

  #hold(modelPath: string): void {
    this.#held.set(modelPath, (this.#held.get(modelPath) ?? 0) + 1);
    this.#released.delete(modelPath);
  }

  #release(modelPath: string): void {
    const held = Math.max(0, (this.#held.get(modelPath) ?? 0) - 1);
    if (held > 0) {
      this.#held.set(modelPath, held);
      return;
    }
    this.#held.delete(modelPath);
    this.#released.add(modelPath);
    this.#unloadWhenIdle(modelPath);
  }

  /**
   * Unloads a released file from every worker (and this thread) once no batch of it runs, as
   * loads go out. A thread the rounds missed keeps the file; a batch that still names it loads
   * it again.
   */
  #unloadWhenIdle(modelPath: string): void {
    if (!this.#released.has(modelPath) || (this.#scoring.get(modelPath) ?? 0) > 0) return;
    this.#released.delete(modelPath);
    void (async () => {
      await this.#onEveryWorker('unload', { modelPath });
      // Loaded here, or on the way (the unload waits for the load to end).
      const here = this.#loadedHere.get(modelPath);
      this.#loadedHere.delete(modelPath);
      if (here === 'ready' || here === 'loading') await (await this.#here!).unload({ modelPath });
    })().catch(() => {
      // A pool closing meanwhile: nothing left to unload from.
    });
  }

  /**
   * Whether `modelPath` is loaded on this thread; starts loading it the first time it is asked
   * (that batch and those until the load ends go to a worker), so a model never scored here is
   * never loaded here.
   */
  #readyHere(modelPath: string): boolean {
    const state = this.#loadedHere.get(modelPath);
    if (state !== undefined) return state === 'ready';
    this.#loadedHere.set(modelPath, 'loading');
    (this.#here ??= import('./inferenceWorker.ts'))
      .then((worker) => worker.warmUp({ modelPath }))
      .then(() => 'ready' as const, () => 'failed' as const)
      .then((state) => {
        // An unload while it loaded took the file off this thread: it stays off.
        if (this.#loadedHere.get(modelPath) === 'loading') this.#loadedHere.set(modelPath, state);
      });
    return false;
  }

  #fileHandle(modelPath: string, options: ModelOptions): ModelHandle {
    return { path: modelPath, run: (request) => this.#score(modelPath, undefined, request, options) };
  }

  async #score(modelPath: string, version: string | undefined, request: InferenceRequest, options: ModelOptions): Promise<InferenceResult> {
    const transfer: ArrayBuffer[] = [request.features.buffer as ArrayBuffer];
    let inputs: Record<string, WireTensor> | undefined;
    if (request.inputs !== undefined) {
      inputs = {};
      for (const name in request.inputs) {
        const tensor = request.inputs[name]!;
        inputs[name] = { data: tensor.data, columns: tensor.columns };
        transfer.push(tensor.data.buffer as ArrayBuffer);
      }
    }
    // Only the fields in use: each one is structured-cloned per batch on the hot path.
    const task: ScoreTask = { modelPath, features: request.features, rows: request.rows, columns: request.columns };
    if (version !== undefined) task.version = version;
    if (inputs !== undefined) task.inputs = inputs;
    if (options.featuresInput !== undefined) task.featuresInput = options.featuresInput;
    if (options.scoreOutput !== undefined) task.scoreOutput = options.scoreOutput;
    if (options.scoreColumn !== undefined) task.scoreColumn = options.scoreColumn;
    // A late answer is dropped, not aborted: stopping a worker while onnxruntime computes
    // makes the process abort when the native call returns into the dead thread.
    this.#busy.begin();
    // Here only while no batch is in a worker: then the hop is pure wait, while behind a busy
    // pool the batch would hold this thread up as well as wait (bench/poolHop.ts, docs/performance.md).
    // Batches scored here take their turns on this thread, each within the limit.
    const here = this.#inWorkers === 0 && this.#placement.fits(modelPath, request.rows) && this.#readyHere(modelPath);
    const scoring: Promise<ScoreResult> = here ? this.#here!.then((worker) => worker.default(task)) : this.#pool.run(task, { transferList: transfer });
    const running = this.#running;
    running.add(scoring);
    if (!here) this.#inWorkers += 1;
    this.#scoring.set(modelPath, (this.#scoring.get(modelPath) ?? 0) + 1);
    // A timed-out batch keeps its worker busy until it really ends: count it until then.
    void scoring
      .finally(() => {
        running.delete(scoring);
        if (!here) this.#inWorkers -= 1;
        const left = this.#scoring.get(modelPath)! - 1;
        if (left > 0) this.#scoring.set(modelPath, left);
        else {
          this.#scoring.delete(modelPath);
          this.#unloadWhenIdle(modelPath);
        }
        this.#busy.end();
      })
      .catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), request.timeoutMs);
    });
    try {
      const result = await Promise.race([scoring, timedOut]);
      if (result === 'timeout') {
        scoring.catch(() => {});
        throw new InferenceTimeoutError(request.timeoutMs);
      }
      this.#placement.observe(modelPath, request.rows, result.endedAt - result.startedAt);
      return {
        scores: result.scores,
        modelVersion: result.modelVersion,
        worker: { threadId: result.threadId, startedAt: result.startedAt, endedAt: result.endedAt },
      };
    } catch (error) {
      if (error instanceof InferenceTimeoutError) throw error;
      throw new ModelError(`model ${version ?? modelPath} failed: ${describeError(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

function inlineMsOf(value: number | string): number {
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidOptionError(`inlineMs (SLUICE_INLINE_MS) must be a number of ms, 0 or more (got ${JSON.stringify(value)})`);
  return ms;
}
