import type { TraceCarrier } from './record.ts';

/** Loads models for a job; the runtime backs it with a worker-thread pool. */
export interface InferenceService {
  /** A handle on a model file; the model is loaded once per worker, on first use. */
  model(path: string): ModelHandle;
  /** Worker threads in the pool. */
  readonly workers: number;
  /** Resolves when the models asked for so far are loaded; the engine awaits it before the source starts. */
  ready?(): Promise<void>;
}

/** One batch for the model: `rows` feature vectors of `columns` values, row-major. */
export interface InferenceRequest {
  readonly features: Float32Array;
  readonly rows: number;
  readonly columns: number;
  readonly timeoutMs: number;
  /** Trace context of the batch span, so the worker's span joins the trace. */
  readonly trace?: TraceCarrier | undefined;
}

/** The model's answer: one score per row, plus where and when it ran. */
export interface InferenceResult {
  readonly scores: Float32Array;
  readonly modelVersion: string;
  readonly worker: { threadId: number; startedAt: number; endedAt: number };
}

export interface ModelHandle {
  readonly path: string;
  /** Scores a batch. Rejects with ModelError on a model failure and InferenceTimeoutError on timeout. */
  run(request: InferenceRequest): Promise<InferenceResult>;
}
