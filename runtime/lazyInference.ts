import type { InferenceService, ModelHandle } from '../core/inference.ts';
import { InferencePool } from './inferencePool.ts';

/**
 * The inference service of a run: the worker pool starts when the job first asks for a model,
 * so a job without `infer` starts no threads. Reads as an idle pool until then.
 *
 * @example
 * const inference = new LazyInference({ workers: 2 });
 * // ... the job runs; infer() calls inference.model(path) when the pipeline is subscribed
 * await inference.close();
 */
export class LazyInference implements InferenceService {
  readonly workers: number;
  #pool: InferencePool | undefined;

  constructor(options: { workers: number }) {
    this.workers = options.workers;
  }

  /** True once a model was asked for (and the pool started). */
  get started(): boolean {
    return this.#pool !== undefined;
  }

  model(path: string): ModelHandle {
    this.#pool ??= new InferencePool({ workers: this.workers });
    return this.#pool.model(path);
  }

  async ready(): Promise<void> {
    await this.#pool?.ready();
  }

  get utilization(): number {
    return this.#pool?.utilization ?? 0;
  }

  get queueSize(): number {
    return this.#pool?.queueSize ?? 0;
  }

  async close(): Promise<void> {
    await this.#pool?.close();
  }
}
