/**
 * Whether a batch may be scored on the calling thread instead of a worker: when the model's
 * batches of that size have lately taken at most `limitMs`. A hop to a worker and back costs
 * 0.4–0.6 ms at p50 and milliseconds at p99 on a busy machine (bench/poolHop.ts), more than a
 * small model takes for a batch; a slow model would block the job's thread, so it stays on the
 * workers. Nothing is guessed: a model is scored here only after a batch of its size (or a
 * larger one) was timed, on a worker or here, and a slow call moves the size back to the workers
 * at once.
 */

/** Batch sizes are timed in classes of up to 1, 2, 4, ... 2^20 rows. */
const CLASSES = 21;
/** Weight of the newest call in a class's time: one call 20× over the limit moves it past. */
const WEIGHT = 0.2;

/**
 * Recent call times of each model, by batch size.
 *
 * @example
 * const placement = new InlinePlacement(1);
 * placement.observe('fraud.onnx', 512, 0.3); // a worker took 0.3 ms for 512 rows
 * placement.fits('fraud.onnx', 400); // true: no more than a 512-row batch, which took 0.3 ms
 * placement.fits('fraud.onnx', 2000); // false: no batch that large was timed yet
 */
export class InlinePlacement {
  readonly limitMs: number;
  readonly #took = new Map<string, Float64Array>();

  constructor(limitMs: number) {
    this.limitMs = limitMs;
  }

  /** Whether a batch of `rows` rows of `model` is expected to take at most the limit. */
  fits(model: string, rows: number): boolean {
    if (this.limitMs <= 0) return false;
    const took = this.#took.get(model);
    if (took === undefined) return false;
    // A larger batch takes at least as long: the nearest timed class at or above this one bounds it.
    for (let size = classOf(rows); size < CLASSES; size += 1) {
      const ms = took[size]!;
      if (ms === ms) return ms <= this.limitMs;
    }
    return false;
  }

  /** Records how long a call of `rows` rows took, wherever it ran. */
  observe(model: string, rows: number, ms: number): void {
    if (this.limitMs <= 0) return;
    let took = this.#took.get(model);
    if (took === undefined) this.#took.set(model, (took = new Float64Array(CLASSES).fill(Number.NaN)));
    const size = classOf(rows);
    const before = took[size]!;
    took[size] = before === before ? before + WEIGHT * (ms - before) : ms;
  }
}

function classOf(rows: number): number {
  return Math.min(CLASSES - 1, Math.max(0, Math.ceil(Math.log2(rows))));
}
