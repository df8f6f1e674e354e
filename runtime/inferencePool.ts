import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Piscina } from 'piscina';
import { describeError, InferenceTimeoutError, ModelError, requirePositiveInteger } from '../core/errors.ts';
import type { InferenceRequest, InferenceResult, InferenceService, ModelHandle } from '../core/inference.ts';
import type { ScoreResult, ScoreTask } from './inferenceWorker.ts';
import type { Clock } from '../core/clock.ts';
import { BusyMeter } from './telemetry/busyMeter.ts';

/** Options of the worker pool. */
export interface InferencePoolOptions {
  /** Worker threads; each loads every model it is asked for once. */
  workers: number;
  /** Times the workers' busy periods for {@link InferencePool.utilization}; tests pass a TestClock. */
  clock?: Clock;
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
  /** Batches inside a worker, timed-out ones included. */
  readonly #running = new Set<Promise<ScoreResult>>();
  readonly #warmUps: Promise<void>[] = [];
  readonly #busy: BusyMeter;

  constructor(options: InferencePoolOptions) {
    this.workers = requirePositiveInteger('workers', options.workers);
    this.#busy = new BusyMeter(this.workers, options.clock);
    this.#pool = new Piscina({
      filename: new URL('./inferenceWorker.ts', import.meta.url).href,
      minThreads: this.workers,
      maxThreads: this.workers,
      // Worker threads inherit the parent's execArgv, which carries tsx's loader for the .ts file.
      execArgv: process.execArgv,
      idleTimeout: 60_000,
    });
  }

  /**
   * Resolves once every model asked for is loaded in the workers; rejects with one readable
   * ModelError when a model file cannot be loaded (a job fails at start, not at its first batch).
   */
  async ready(): Promise<void> {
    await Promise.all(this.#warmUps);
  }

  /** One load per worker thread, all at once, so each idle thread takes one. */
  async #warmUp(modelPath: string, shownPath: string): Promise<void> {
    try {
      await Promise.all(Array.from({ length: this.workers }, () => this.#pool.run(modelPath, { name: 'warmUp' })));
    } catch (error) {
      throw new ModelError(`model ${shownPath} could not be loaded: ${describeError(error).split('\n')[0]} — is it an ONNX file with a [batch, features] float32 input?`, { cause: error });
    }
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

  /** A handle on a model file. Throws ModelError at once when the file does not exist. */
  model(path: string): ModelHandle {
    const absolute = resolve(path);
    let handle = this.#models.get(absolute);
    if (handle === undefined) {
      if (!existsSync(absolute)) {
        throw new ModelError(`model file not found: ${path} — run \`npm run train\` to build it, or point the job at an existing .onnx file`);
      }
      this.#warmUps.push(this.#warmUp(absolute, path));
      handle = this.#createHandle(absolute);
      this.#models.set(absolute, handle);
    }
    return handle;
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
    await this.#pool.close({ force: true });
  }

  #createHandle(modelPath: string): ModelHandle {
    const pool = this.#pool;
    const running = this.#running;
    const busy = this.#busy;
    return {
      path: modelPath,
      async run(request: InferenceRequest): Promise<InferenceResult> {
        const task: ScoreTask = { modelPath, features: request.features, rows: request.rows, columns: request.columns };
        // A late answer is dropped, not aborted: stopping a worker while onnxruntime computes
        // makes the process abort when the native call returns into the dead thread.
        busy.begin();
        const scoring: Promise<ScoreResult> = pool.run(task, { transferList: [request.features.buffer as ArrayBuffer] });
        running.add(scoring);
        // A timed-out batch keeps its worker busy until it really ends: count it until then.
        void scoring
          .finally(() => {
            running.delete(scoring);
            busy.end();
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
          return {
            scores: result.scores,
            modelVersion: result.modelVersion,
            worker: { threadId: result.threadId, startedAt: result.startedAt, endedAt: result.endedAt },
          };
        } catch (error) {
          if (error instanceof InferenceTimeoutError) throw error;
          throw new ModelError(`model ${modelPath} failed: ${describeError(error)}`, { cause: error });
        } finally {
          clearTimeout(timer);
        }
      },
    };
  }
}
