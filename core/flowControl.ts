import { requirePositiveInteger } from './errors.ts';

/**
 * Called when the budget fills up and when half of it is free again (not at the first free slot:
 * a source that paused at the edge would otherwise flap, each resume costing a fetch round).
 */
export interface BudgetListener {
  onFull?(): void;
  onResume?(): void;
}

/**
 * The bounded in-flight budget: how many records may be inside the job (taken from the source
 * but not yet done) at once. A source takes a slot per record and waits while none is free;
 * every finished record gives its slot back. This is the job's backpressure.
 *
 * @example
 * const budget = new InFlightBudget(2);
 * budget.take(); budget.take();
 * budget.isFull;          // true
 * const room = budget.whenAvailable(); // resolves after the next give()
 * budget.give();
 */
export class InFlightBudget {
  readonly capacity: number;
  #used = 0;
  #peak = 0;
  #waiters: Array<() => void> = [];
  #listeners: BudgetListener[] = [];
  /** Filled up and not yet half free: the listeners were told `onFull` and wait for `onResume`. */
  #holding = false;

  constructor(capacity: number) {
    this.capacity = requirePositiveInteger('maxInFlight', capacity);
  }

  get used(): number {
    return this.#used;
  }

  /** The most records that were ever in flight at once. */
  get peak(): number {
    return this.#peak;
  }

  get isFull(): boolean {
    return this.#used >= this.capacity;
  }

  /** Takes one slot. Callers check {@link isFull} (or await {@link whenAvailable}) first. */
  take(): void {
    this.#used += 1;
    if (this.#used > this.#peak) this.#peak = this.#used;
    if (this.#used === this.capacity && !this.#holding) {
      this.#holding = true;
      for (const listener of this.#listeners) listener.onFull?.();
    }
  }

  /** Gives one slot back and wakes a waiting source. */
  give(): void {
    if (this.#used === 0) throw new Error('InFlightBudget.give() without a matching take()');
    this.#used -= 1;
    if (this.#holding && this.#used * 2 <= this.capacity) {
      this.#holding = false;
      for (const listener of this.#listeners) listener.onResume?.();
    }
    if (this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves at once when a slot is free, otherwise when one is given back. */
  whenAvailable(): Promise<void> {
    if (!this.isFull) return Promise.resolve();
    return new Promise<void>((resolve) => this.#waiters.push(() => resolve())).then((): Promise<void> | undefined =>
      this.isFull ? this.whenAvailable() : undefined,
    );
  }

  /** Resolves when nothing is in flight any more. */
  async whenEmpty(): Promise<void> {
    while (this.#used > 0) await new Promise<void>((resolve) => this.#waiters.push(() => resolve()));
  }

  /** True from the moment the budget fills until half of it is free again. */
  get holding(): boolean {
    return this.#holding;
  }

  listen(listener: BudgetListener): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }
}
