import { requireNonNegativeNumber, requirePositiveInteger } from '../../core/errors.ts';

/** Scores one [rows, columns] float32 matrix: one score per row, and the model version that did it. */
export type ScoreMatrix = (features: Float32Array, rows: number, columns: number) => Promise<{ scores: Float32Array; modelVersion: string }>;

/** The timer the batcher waits with; tests pass a manual one so they never sleep. */
export interface BatchTimer {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** The process's timers. */
export const systemTimer: BatchTimer = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** One request's share of a batch's answer. */
export interface BatchedScores {
  scores: Float32Array;
  modelVersion: string;
  /** The model call this request was part of. */
  batch: { rows: number; requests: number };
}

export interface DynamicBatcherOptions {
  /** Rows in one model call at most; a single larger request is scored alone, never split. */
  maxBatch: number;
  /** How long the first request of a batch waits for others to join it. */
  maxDelayMs: number;
  score: ScoreMatrix;
  timer?: BatchTimer;
  /** Called once per model call, for metrics. */
  onBatch?: (batch: { rows: number; requests: number }) => void;
}

interface Waiting {
  features: Float32Array;
  rows: number;
  resolve: (scores: BatchedScores) => void;
  reject: (error: unknown) => void;
}

/**
 * Server-side dynamic batching, as Triton does it: requests that arrive within `maxDelayMs` of
 * the first waiting one are concatenated and scored in one model call of up to `maxBatch` rows,
 * then each gets its own rows' scores back. A batch leaves early once it is full.
 *
 * @example
 * const batcher = new DynamicBatcher({ maxBatch: 256, maxDelayMs: 2, score: (f, rows, columns) => model.run({ features: f, rows, columns, timeoutMs: 5000 }) });
 * const { scores, modelVersion } = await batcher.submit(features, rows, 10);
 */
export class DynamicBatcher {
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  readonly #score: ScoreMatrix;
  readonly #timer: BatchTimer;
  readonly #onBatch: ((batch: { rows: number; requests: number }) => void) | undefined;
  #waiting: Waiting[] = [];
  #waitingRows = 0;
  #columns = 0;
  #handle: unknown;
  #timerSet = false;
  readonly #running = new Set<Promise<void>>();

  constructor(options: DynamicBatcherOptions) {
    this.maxBatch = requirePositiveInteger('maxBatch', options.maxBatch);
    this.maxDelayMs = requireNonNegativeNumber('maxDelayMs', options.maxDelayMs);
    this.#score = options.score;
    this.#timer = options.timer ?? systemTimer;
    this.#onBatch = options.onBatch;
  }

  /** Requests waiting for their batch to leave. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Model calls under way. */
  get running(): number {
    return this.#running.size;
  }

  /** Queues `rows` rows of `columns` features; resolves with their scores once their batch is scored. */
  submit(features: Float32Array, rows: number, columns: number): Promise<BatchedScores> {
    // Rows of different widths cannot share a matrix, and a batch never grows past maxBatch.
    if (this.#waiting.length > 0 && (columns !== this.#columns || this.#waitingRows + rows > this.maxBatch)) this.flush();
    const answer = new Promise<BatchedScores>((resolve, reject) => {
      this.#waiting.push({ features, rows, resolve, reject });
    });
    this.#columns = columns;
    this.#waitingRows += rows;
    if (this.#waitingRows >= this.maxBatch) {
      this.flush();
    } else if (!this.#timerSet) {
      this.#timerSet = true;
      this.#handle = this.#timer.set(() => {
        this.#timerSet = false;
        this.flush();
      }, this.maxDelayMs);
    }
    return answer;
  }

  /** Sends what is waiting to the model now. */
  flush(): void {
    if (this.#timerSet) {
      this.#timer.clear(this.#handle);
      this.#timerSet = false;
    }
    if (this.#waiting.length === 0) return;
    const batch = this.#waiting;
    const rows = this.#waitingRows;
    const columns = this.#columns;
    this.#waiting = [];
    this.#waitingRows = 0;
    const running = this.#run(batch, rows, columns);
    this.#running.add(running);
    void running.finally(() => this.#running.delete(running));
  }

  /** Scores what is waiting and resolves when every model call has answered. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.#running]);
  }

  async #run(batch: Waiting[], rows: number, columns: number): Promise<void> {
    // One request needs no copy; several are concatenated row-major.
    let features: Float32Array;
    if (batch.length === 1) {
      features = batch[0]!.features;
    } else {
      features = new Float32Array(rows * columns);
      let offset = 0;
      for (const request of batch) {
        features.set(request.features, offset);
        offset += request.features.length;
      }
    }
    const size = { rows, requests: batch.length };
    this.#onBatch?.(size);
    try {
      const { scores, modelVersion } = await this.#score(features, rows, columns);
      let row = 0;
      for (const request of batch) {
        request.resolve({ scores: scores.slice(row, row + request.rows), modelVersion, batch: size });
        row += request.rows;
      }
    } catch (error) {
      for (const request of batch) request.reject(error);
    }
  }
}
