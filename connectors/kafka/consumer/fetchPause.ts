/** What {@link FetchPause} drives: the consumer's pause/resume, and who to tell. */
export interface FetchPauseTarget {
  /** Pauses fetching of every subscribed topic (kafkajs `pause`); may throw while restarting. */
  pause(): void;
  resume(): void;
  /** Reports a change (the `source.backpressure` event). */
  changed(paused: boolean): void;
}

/**
 * Backpressure for a Kafka consumer, driven by the engine's budget events: pause fetching when
 * the in-flight budget fills ({@link full}), resume when half of it is free again
 * ({@link resume}; the budget keeps that hysteresis, so the consumer does not flap at the edge).
 * Pausing is client-side in kafkajs: paused partitions are left out of fetch requests, nothing
 * is lost or repeated. No timers: it only reacts.
 *
 * @example
 * const fetch = new FetchPause({ pause, resume, changed });
 * ctx.partitions.on({ full: () => fetch.full(), resume: () => fetch.resume() });
 */
export class FetchPause {
  readonly #target: FetchPauseTarget;
  #paused = false;
  #stopped = false;

  constructor(target: FetchPauseTarget) {
    this.#target = target;
  }

  /** Fetching is paused (the budget is full, or the source stopped). */
  get paused(): boolean {
    return this.#paused;
  }

  /** The budget just filled up. */
  full(): void {
    if (this.#paused) return;
    this.#pause();
    this.#target.changed(true);
  }

  /** Half the budget is free again. */
  resume(): void {
    if (!this.#paused || this.#stopped) return;
    this.#paused = false;
    try {
      this.#target.resume();
    } catch {
      // Restarting: a fresh consumer starts unpaused.
    }
    this.#target.changed(false);
  }

  /** Stops fetching for good (the source is stopping). */
  stop(): void {
    this.#stopped = true;
    this.#pause();
  }

  /** Pauses again if paused: a consumer restarted after a crash has forgotten it. */
  reapply(): void {
    if (this.#paused) this.#pauseQuietly();
  }

  #pause(): void {
    this.#paused = true;
    this.#pauseQuietly();
  }

  #pauseQuietly(): void {
    try {
      this.#target.pause();
    } catch {
      // Not running yet (or restarting): the next assignment pauses again (reapply).
    }
  }
}
