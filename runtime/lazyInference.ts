import type { InferenceService, ModelHandle, ModelOptions } from '../core/inference.ts';
import { InferencePool, type InferencePoolOptions } from './inferencePool.ts';

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
  readonly #options: InferencePoolOptions;

  constructor(options: InferencePoolOptions) {
    this.workers = options.workers;
    this.#options = options;
  }

  /** True once a model was asked for (and the pool started). */
  get started(): boolean {
    return this.#pool !== undefined;
  }

  model(spec: string, options?: ModelOptions): ModelHandle {
    this.#pool ??= new InferencePool(this.#options);
    return this.#pool.model(spec, options);
  }

  /** Re-reads registry pins and scans registries now (see InferencePool.reload). */
  async reload(force = false): Promise<void> {
    await this.#pool?.reload(force);
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
