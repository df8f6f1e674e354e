import type { TraceCarrier } from './record.ts';

/** Loads models for a job; the runtime backs it with a worker-thread pool. */
export interface InferenceService {
  /**
   * A handle on a model: an .onnx file, a registry (`models/fraud`: the newest valid version,
   * swapped while the job runs) or a pinned version (`models/fraud@2`). Loaded once per worker.
   */
  model(spec: string, options?: ModelOptions): ModelHandle;
  /** Worker threads in the pool. */
  readonly workers: number;
  /** Resolves when the models asked for so far are loaded; the engine awaits it before the source starts. */
  ready?(): Promise<void>;
}

/** What the caller of a model expects of it; checked against the model (and its manifest) at load. */
export interface ModelOptions {
  /** Width of the float32 feature tensor (the manifest's feature count must agree). */
  readonly columns?: number | undefined;
  /** The input the feature tensor feeds; the model's first input by default. */
  readonly featuresInput?: string | undefined;
  /** The model's other inputs, fed by name with each request's `inputs`. */
  readonly inputs?: readonly string[] | undefined;
  /** The output holding the score; the first float output by default. */
  readonly scoreOutput?: string | undefined;
  /** The column of a [batch, k] score output; the last by default (the positive class of [p0, p1]). */
  readonly scoreColumn?: number | undefined;
  /**
   * `serve` (default): new registry versions are validated before they serve. `shadow`: a
   * candidate scored beside the serving model; `registry@next` follows the newest version.
   */
  readonly role?: 'serve' | 'shadow' | undefined;
  /** Held-out AUC a new version may lose against the serving one and still be swapped in. Default 0.01. */
  readonly maxAucDrop?: number | undefined;
}

/** An extra named input of a batch: `rows` × `columns`, row-major (int64 as BigInt64Array). */
export interface InputTensor {
  readonly data: Float32Array | BigInt64Array;
  readonly columns: number;
}

/** One batch for the model: `rows` feature vectors of `columns` values, row-major. */
export interface InferenceRequest {
  readonly features: Float32Array;
  readonly rows: number;
  readonly columns: number;
  readonly timeoutMs: number;
  /** The model's other input tensors by name (see ModelOptions.inputs). Transferred, like `features`. */
  readonly inputs?: Readonly<Record<string, InputTensor>> | undefined;
  /** Trace context of the batch span, so the worker's span joins the trace. */
  readonly trace?: TraceCarrier | undefined;
}

/** The model's answer: one score per row, plus where and when it ran. */
export interface InferenceResult {
  readonly scores: Float32Array;
  /** The version that scored the batch: `fraud@2` from a registry, the file's name otherwise. */
  readonly modelVersion: string;
  readonly worker: { threadId: number; startedAt: number; endedAt: number };
}

/** A change of the version a handle serves, or a version it refused. */
export type ModelLifecycleEvent =
  /** `from` is undefined for the first version loaded. */
  | { readonly kind: 'swapped'; readonly model: string; readonly version: string; readonly from: string | undefined }
  | { readonly kind: 'refused'; readonly model: string; readonly version: string; readonly reasons: readonly string[] };

export interface ModelHandle {
  readonly path: string;
  /** The version serving now (`fraud@2`), once loaded. */
  readonly version?: string | undefined;
  /** The decision threshold the model's manifest names, once loaded. */
  readonly threshold?: number | undefined;
  /**
   * Scores a batch with the version serving when it is called (a swap never splits a batch).
   * Rejects with ModelError on a model failure and InferenceTimeoutError on timeout.
   */
  run(request: InferenceRequest): Promise<InferenceResult>;
  /** Listens to swaps and refusals (the current version is reported at once when loaded); returns the unsubscribe. */
  onLifecycle?(listener: (event: ModelLifecycleEvent) => void): () => void;
}
