import type { Clock } from '../clock.ts';
import { requireNonNegativeNumber } from '../errors.ts';

/**
 * Says whether a source partition has gone quiet: no record for `timeoutMs` of processing time
 * (Flink's `withIdleness`). An idle partition stops holding the job's watermark back; its next
 * record makes it active again.
 *
 * @example
 * const idle = new Idleness(30_000, clock);
 * idle.touch();
 * clock.advance(30_000);
 * idle.isIdle(); // true
 */
export class Idleness {
  readonly timeoutMs: number;
  readonly #clock: Clock;
  #lastActivity: number;

  constructor(timeoutMs: number, clock: Clock) {
    this.timeoutMs = requireNonNegativeNumber('idleTimeoutMs', timeoutMs);
    this.#clock = clock;
    this.#lastActivity = clock.now();
  }

  /** A record arrived. */
  touch(): void {
    this.#lastActivity = this.#clock.now();
  }

  isIdle(): boolean {
    return this.#clock.now() >= this.idleAt;
  }

  /** The processing time at which the partition counts as idle unless a record arrives first. */
  get idleAt(): number {
    return this.#lastActivity + this.timeoutMs;
  }
}
