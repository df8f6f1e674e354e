import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Piscina } from 'piscina';
import { describeError, InferenceTimeoutError, ModelError, requirePositiveInteger } from '../core/errors.ts';
import type { InferenceRequest, InferenceResult, InferenceService, ModelHandle } from '../core/inference.ts';
import type { ScoreResult, ScoreTask } from './inferenceWorker.ts';

/** Options of the worker pool. */
export interface InferencePoolOptions {
  /** Worker threads; each loads every model it is asked for once. */
  workers: number;
}

/**
 * ONNX inference on a Piscina pool of worker threads. Batches travel to the worker as
 * transferred Float32Arrays (no copy); a batch that outlives its timeout is aborted, which
 * stops its worker thread, and the pool starts a fresh one.
 *
 * @example
 * const pool = new InferencePool({ workers: 2 });
 * const model = pool.model('models/fraud-v1.onnx');
 * const { scores } = await model.run({ features, rows: 64, columns: 10, timeoutMs: 1000 });
 * await pool.close();
 */
export class InferencePool implements InferenceService {
  readonly workers: number;
  readonly #pool: Piscina<ScoreTask, ScoreResult>;
  readonly #models = new Map<string, ModelHandle>();

  constructor(options: InferencePoolOptions) {
    this.workers = requirePositiveInteger('workers', options.workers);
    this.#pool = new Piscina<ScoreTask, ScoreResult>({
      filename: new URL('./inferenceWorker.ts', import.meta.url).href,
      minThreads: this.workers,
      maxThreads: this.workers,
      // Worker threads inherit the parent's execArgv, which carries tsx's loader for the .ts file.
      execArgv: process.execArgv,
      idleTimeout: 60_000,
    });
  }

  /** Tasks waiting for a free worker thread. */
  get queueSize(): number {
    return this.#pool.queueSize;
  }

  /** Fraction of the pool's time spent running tasks since it started (0..1). */
  get utilization(): number {
    return this.#pool.utilization;
  }

  /** A handle on a model file. Throws ModelError at once when the file does not exist. */
  model(path: string): ModelHandle {
    const absolute = resolve(path);
    let handle = this.#models.get(absolute);
    if (handle === undefined) {
      if (!existsSync(absolute)) {
        throw new ModelError(`model file not found: ${path} — run \`npm run train\` to build it, or point the job at an existing .onnx file`);
      }
      handle = this.#createHandle(absolute);
      this.#models.set(absolute, handle);
    }
    return handle;
  }

  async close(): Promise<void> {
    await this.#pool.close({ force: true });
  }

  #createHandle(modelPath: string): ModelHandle {
    const pool = this.#pool;
    return {
      path: modelPath,
      async run(request: InferenceRequest): Promise<InferenceResult> {
        const abort = new AbortController();
        const timer = setTimeout(() => abort.abort(), request.timeoutMs);
        try {
          const task: ScoreTask = { modelPath, features: request.features, rows: request.rows, columns: request.columns };
          const result = await pool.run(task, { signal: abort.signal, transferList: [request.features.buffer as ArrayBuffer] });
          return {
            scores: result.scores,
            modelVersion: result.modelVersion,
            worker: { threadId: result.threadId, startedAt: result.startedAt, endedAt: result.endedAt },
          };
        } catch (error) {
          if (abort.signal.aborted) throw new InferenceTimeoutError(request.timeoutMs);
          throw new ModelError(`model ${modelPath} failed: ${describeError(error)}`, { cause: error });
        } finally {
          clearTimeout(timer);
        }
      },
    };
  }
}
