/**
 * Wakes everyone waiting, once per {@link wake}: a condition variable for async code. Waiters
 * re-check their condition after waking, so a spurious wake-up is harmless.
 *
 * @example
 * const room = new Wakeup();
 * while (full()) await room.wait(200); // woken by room.wake() or after 200 ms
 */
export class Wakeup {
  #waiters: (() => void)[] = [];

  /** Resolves at the next {@link wake}, or after `timeoutMs` when given. */
  wait(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const index = this.#waiters.indexOf(done);
          if (index >= 0) this.#waiters.splice(index, 1);
          resolve();
        }, timeoutMs);
      }
    });
  }

  wake(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}
