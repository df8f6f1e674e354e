/** File helpers of the tests: a temporary folder that goes away, a JSON-lines output read while a job still writes it. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.ts';

const made: string[] = [];
// 'exit' also runs under --test-force-exit, and by then the tests' children have been stopped.
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/**
 * A new empty folder under the system's temporary one, removed when the test process exits.
 *
 * @example
 * const dir = tempDir('sluice-cli-'); // /tmp/sluice-cli-Ab12Cd
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

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
  await eventually(`${path} to reach ${count} lines`, () => lines(path).length >= count, { timeoutMs, everyMs: 10, detail: () => `it has ${lines(path).length}` });
}
