/**
 * Shared helpers of the model-service tests: the real fraud model, feature rows, and a pool
 * that counts its model calls.
 */
import type { InferenceRequest, InferenceService, ModelHandle } from '../../../core/inference.ts';
import { InferencePool } from '../../../runtime/inferencePool.ts';
import type { BatchTimer } from '../../../runtime/serve/dynamicBatcher.ts';

export const MODEL_PATH = 'models/fraud-v1.onnx';
export const COLUMNS = 10;

/** `rows` deterministic feature rows in the ranges the fraud features take (row-major). */
export function featureRows(rows: number, seed = 1): Float32Array {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const features = new Float32Array(rows * COLUMNS);
  for (let i = 0; i < features.length; i += 1) features[i] = i % COLUMNS < 6 ? next() * 6 - 1 : next() < 0.3 ? 1 : 0;
  return features;
}

/** An OIP inference request body for these rows. */
export function inferBody(features: Float32Array, rows: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...extra, inputs: [{ name: 'features', shape: [rows, COLUMNS], datatype: 'FP32', data: Array.from(features) }] });
}

/** A pool wrapper that counts the model calls (batches) that reach the workers. */
export class CountingPool implements InferenceService {
  readonly calls: number[] = [];
  readonly #pool: InferencePool;

  constructor(pool: InferencePool) {
    this.#pool = pool;
  }

  get workers(): number {
    return this.#pool.workers;
  }

  get queueSize(): number {
    return this.#pool.queueSize;
  }

  ready(): Promise<void> {
    return this.#pool.ready();
  }

  model(path: string): ModelHandle {
    const handle = this.#pool.model(path);
    return {
      path: handle.path,
      run: (request: InferenceRequest) => {
        this.calls.push(request.rows);
        return handle.run(request);
      },
    };
  }
}

/** The scores the pool gives directly, without the service (the reference for exact equality). */
export async function directScores(pool: InferencePool, features: Float32Array, rows: number): Promise<number[]> {
  const { scores } = await pool.model(MODEL_PATH).run({ features: features.slice(), rows, columns: COLUMNS, timeoutMs: 10_000 });
  return Array.from(scores);
}

/** A timer that fires only when the test says so. */
export class ManualTimer implements BatchTimer {
  readonly pending = new Map<number, { callback: () => void; ms: number }>();
  #next = 0;

  set(callback: () => void, ms: number): number {
    this.#next += 1;
    this.pending.set(this.#next, { callback, ms });
    return this.#next;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  fireAll(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const { callback } of due) callback();
  }
}
