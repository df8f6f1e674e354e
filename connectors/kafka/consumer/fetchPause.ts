/** What {@link FetchPause} drives: the consumer's pause/resume and the budget's state. */
export interface FetchPauseTarget {
  /** Pauses fetching of every subscribed topic (kafkajs `pause`); may throw while restarting. */
  pause(): void;
  resume(): void;
  /** Records of this source inside the job now. */
  inFlight(): number;
  readonly maxInFlight: number;
  /** Reports a change (the `source.backpressure` event). */
  changed(paused: boolean): void;
}

/**
 * Backpressure for a Kafka consumer: pauses fetching the moment the job's in-flight budget is
 * full and resumes once half of it is free again, so the consumer does not flap at the edge
 * (every pause/resume would otherwise cost a fetch round). Pausing is client-side in kafkajs:
 * the paused partitions are left out of fetch requests, nothing is lost or repeated.
 *
 * @example
 * const gate = new FetchPause({ pause, resume, inFlight, maxInFlight: ctx.maxInFlight, changed });
 * ctx.onBackpressure({ onFull: () => gate.full(), onAvailable: () => gate.available() });
 */
export class FetchPause {
  readonly #target: FetchPauseTarget;
  #budgetFull = false;
  #paused = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(target: FetchPauseTarget) {
    this.#target = target;
  }

  /** The budget is full right now. */
  get budgetFull(): boolean {
    return this.#budgetFull;
  }

  /** The budget just filled up. */
  full(): void {
    this.#budgetFull = true;
    this.#clearTimer();
    if (!this.#paused) {
      this.#pause();
      this.#target.changed(true);
    }
  }

  /** The budget has room again: resume once half of it is free. */
  available(): void {
    this.#budgetFull = false;
    if (!this.#paused || this.#stopped || this.#timer !== undefined) return;
    const check = () => {
      this.#timer = undefined;
      if (!this.#paused || this.#stopped || this.#budgetFull) return;
      if (this.#target.inFlight() <= this.#target.maxInFlight / 2) {
        this.#paused = false;
        try {
          this.#target.resume();
        } catch {
          // Restarting: a fresh consumer starts unpaused.
        }
        this.#target.changed(false);
      } else {
        this.#timer = setTimeout(check, 5);
      }
    };
    check();
  }

  /** Stops fetching for good (the source is stopping). */
  stop(): void {
    this.#stopped = true;
    this.#clearTimer();
    this.#pause();
  }

  /** Pauses again if paused: a consumer restarted after a crash has forgotten it. */
  reapply(): void {
    if (this.#paused) this.#pauseQuietly();
  }

  dispose(): void {
    this.#clearTimer();
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

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
