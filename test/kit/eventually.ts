/**
 * Waiting in tests for something that happens in the background (a buffer draining, a line in a
 * log, a count on a dashboard): poll until it holds, fail with a message that names it.
 */
import { AssertionError } from 'node:assert';

export interface Polling {
  /** How long to keep polling; only stops a hang, so leave a loaded machine room. Default 10 s. */
  timeoutMs?: number;
  /** The pause between polls. Default 50 ms. */
  everyMs?: number;
}

/**
 * Polls `check` until it returns true: right away, then every `everyMs`, and a last time at or
 * after the deadline. Throws an AssertionError naming `what` (with `detail()`, evaluated only
 * then, on a line of its own) once `timeoutMs` has passed. An error `check` throws propagates.
 *
 * @example
 * await eventually('the buffer to drain once Redis is back', () => store.flush(), { timeoutMs: 15_000, everyMs: 25 });
 */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, options: Polling & { detail?: () => string } = {}): Promise<void> {
  await eventuallyValue(what, check, (ok) => ok, options);
}

/**
 * {@link eventually} for a value the test goes on with: polls `get` until `accept` takes its
 * value, and resolves with that value. `detail` gets the last value read.
 *
 * @example
 * const recent = await eventuallyValue('a dead letter', () => deadLetters(url), (list) => list.length > 0, { timeoutMs: 30_000, everyMs: 500 });
 */
export async function eventuallyValue<T>(
  what: string,
  get: () => T | Promise<T>,
  accept: (value: T) => boolean,
  { timeoutMs = 10_000, everyMs = 50, detail }: Polling & { detail?: (last: T) => string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Taken before the poll: the last poll starts at or after the deadline, however long polls take.
    const late = Date.now() >= deadline;
    const value = await get();
    if (accept(value)) return value;
    if (late) {
      const more = detail === undefined ? '' : `\n${detail(value)}`;
      throw new AssertionError({ message: `timed out after ${timeoutMs} ms waiting for ${what}${more}` });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(everyMs, Math.max(0, deadline - Date.now()))));
  }
}
