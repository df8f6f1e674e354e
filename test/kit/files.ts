/** File helpers of the process tests: read a JSON-lines output while a job is still writing it. */
import { existsSync, readFileSync } from 'node:fs';

/** The non-empty lines of a file, none when it does not exist yet. */
export function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

/**
 * Resolves once a file has at least `count` lines (a job's output reached that point).
 *
 * @example
 * await waitForLines('out/decisions.jsonl', 500);
 */
export async function waitForLines(path: string, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (lines(path).length < count) {
    if (Date.now() > deadline) throw new Error(`${path} did not reach ${count} lines`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
