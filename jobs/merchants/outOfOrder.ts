import { Random } from '../fraud/random.ts';

export interface OutOfOrderOptions {
  /** PRNG seed; the same seed gives the same order. */
  seed: number;
  /**
   * Records held in a shuffling buffer; each call hands out a random one of them. The buffer
   * spans about `buffer × gap` of event time, which is how far records arrive out of order
   * (with a thin geometric tail beyond).
   */
  buffer: number;
  /** Share of records held back much longer (stragglers: a phone that was offline). */
  stragglerRatio: number;
  /** A straggler comes back this many records later, uniform in [min, max]. */
  stragglerDelay: readonly [min: number, max: number];
}

/**
 * Turns an in-order stream into an out-of-order one, as a real source delivers it: a shuffling
 * buffer for small disorder, plus stragglers that arrive long after their event time. Nothing
 * is duplicated: each input comes out once (those still held when the reader stops, never).
 *
 * @example
 * const shuffled = new OutOfOrder(() => generator.next(), { seed: 1, buffer: 512, stragglerRatio: 0.003, stragglerDelay: [5_000, 60_000] });
 * shuffled.next(); // some transaction among the next 512, or a straggler that is due
 */
export class OutOfOrder<T> {
  readonly #source: () => T;
  readonly #options: OutOfOrderOptions;
  readonly #rng: Random;
  readonly #buffer: T[] = [];
  /** Stragglers by the draw at which they come back, in order of that draw. */
  readonly #held: Array<{ due: number; value: T }> = [];
  #draws = 0;

  constructor(source: () => T, options: OutOfOrderOptions) {
    if (!Number.isInteger(options.buffer) || options.buffer < 1) throw new RangeError(`buffer must be a positive integer (got ${String(options.buffer)})`);
    if (!(options.stragglerRatio >= 0 && options.stragglerRatio < 1)) throw new RangeError(`stragglerRatio must be in [0, 1) (got ${String(options.stragglerRatio)})`);
    this.#source = source;
    this.#options = options;
    this.#rng = new Random(options.seed);
  }

  next(): T {
    this.#draws += 1;
    const head = this.#held[0];
    if (head !== undefined && head.due <= this.#draws) {
      this.#held.shift();
      return head.value;
    }
    for (;;) {
      while (this.#buffer.length < this.#options.buffer) this.#buffer.push(this.#source());
      const pick = this.#rng.int(this.#buffer.length);
      const value = this.#buffer[pick]!;
      this.#buffer[pick] = this.#buffer[this.#buffer.length - 1]!;
      this.#buffer.pop();
      if (this.#rng.next() >= this.#options.stragglerRatio) return value;
      const [min, max] = this.#options.stragglerDelay;
      this.#hold({ due: this.#draws + min + this.#rng.int(max - min + 1), value });
    }
  }

  #hold(entry: { due: number; value: T }): void {
    let i = this.#held.length;
    while (i > 0 && this.#held[i - 1]!.due > entry.due) i--;
    this.#held.splice(i, 0, entry);
  }
}
