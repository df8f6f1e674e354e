/**
 * A small seeded PRNG (mulberry32) so the synthetic stream is reproducible from a seed.
 * Methods only, no closures: one call costs a few integer operations.
 *
 * @example
 * const rng = new Random(7);
 * rng.next();     // 0 <= x < 1, same sequence for the same seed
 * rng.int(10);    // 0..9
 * rng.normal();   // standard normal
 */
export class Random {
  #state: number;
  #spareNormal = 0;
  #hasSpare = false;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /**
   * A uniform float in [0, 1).
   *
   * @example
   * new Random(1).next(); // 0.6270739405881613
   */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * A uniform integer in [0, n).
   *
   * @example
   * new Random(1).int(6); // a die roll minus one
   */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * True with probability p.
   *
   * @example
   * new Random(1).chance(0.25);
   */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /**
   * A standard normal sample (Box–Muller, the second value of each pair is kept for the next call).
   *
   * @example
   * 100 + 15 * new Random(1).normal();
   */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spareNormal;
    }
    const u = 1 - this.next(); // (0, 1]: log(u) is finite
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    this.#hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * An exponential sample with the given mean.
   *
   * @example
   * new Random(1).exponential(1000); // a gap in ms, mean 1 s
   */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
}
