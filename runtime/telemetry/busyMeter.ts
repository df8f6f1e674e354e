import type { Clock } from '../../core/clock.ts';

/** Wall time with sub-millisecond resolution: short model runs are a fraction of a millisecond. */
const preciseClock: Clock = { now: () => performance.timeOrigin + performance.now() };

/**
 * How busy a fixed number of slots (worker threads) were between two readings: busy
 * slot-time / (slots × wall time). Tasks are counted from `begin()` to `end()`; more tasks
 * than slots (the rest wait in a queue) count as all slots busy, not more.
 *
 * Written because piscina 5.3's `utilization` divides a run time in seconds by a duration in
 * milliseconds, so a saturated pool read about 0.001.
 *
 * @example
 * const meter = new BusyMeter(2);
 * meter.begin(); // a task starts
 * meter.end(); // ...and ends
 * meter.sample(); // share of the 2 slots' time spent busy since the last sample (0..1)
 */
export class BusyMeter {
  readonly #slots: number;
  readonly #clock: Clock;
  #active = 0;
  /** Busy slot-milliseconds since the last sample. */
  #busy = 0;
  #lastChange: number;
  #lastSample: number;
  #last = 0;

  constructor(slots: number, clock: Clock = preciseClock) {
    this.#slots = slots;
    this.#clock = clock;
    this.#lastChange = this.#lastSample = clock.now();
  }

  /** A task took a slot (or joined the queue for one). */
  begin(): void {
    this.#advance();
    this.#active += 1;
  }

  /** A task ended, successfully or not. */
  end(): void {
    this.#advance();
    this.#active = Math.max(0, this.#active - 1);
  }

  /** Tasks begun and not ended. */
  get active(): number {
    return this.#active;
  }

  /**
   * The share of slot-time spent busy since the previous sample (or since the meter was made),
   * 0..1. Two samples at the same instant read the same value.
   */
  sample(): number {
    const now = this.#advance();
    const elapsed = now - this.#lastSample;
    if (elapsed <= 0) return this.#last;
    this.#last = Math.min(1, this.#busy / (this.#slots * elapsed));
    this.#busy = 0;
    this.#lastSample = now;
    return this.#last;
  }

  #advance(): number {
    const now = this.#clock.now();
    if (now > this.#lastChange) {
      this.#busy += Math.min(this.#active, this.#slots) * (now - this.#lastChange);
      this.#lastChange = now;
    }
    return now;
  }
}
