import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError } from '../../core/errors.ts';

const MARKER = 'parallelism';

/**
 * Checks that `--checkpoint-dir` was last used with this `--parallelism`, and records it. With
 * N > 1 each stream thread checkpoints to a folder of its own (see threadFolder) and owns keys by
 * their hash modulo N, so a restart with another N would restore the wrong keys in each thread;
 * a single thread checkpoints to the directory itself. A mismatch is refused with what to do.
 *
 * @example
 * claimCheckpointDirectory('.sluice/ckpt', 2); // throws if .sluice/ckpt holds checkpoints of another count
 */
export function claimCheckpointDirectory(directory: string, count: number): void {
  let recorded: number | undefined;
  try {
    recorded = Number(readFileSync(join(directory, MARKER), 'utf8').trim());
  } catch {
    recorded = undefined;
  }
  // Checkpoints at the top level are a single thread's, from before the marker was written.
  if (recorded === undefined && entries(directory).some((name) => name.endsWith('.ckpt'))) recorded = 1;
  if (recorded !== undefined && recorded !== count) {
    throw new InvalidOptionError(`${directory} holds checkpoints of --parallelism ${recorded}: run with --parallelism ${recorded}, or start afresh with a new --checkpoint-dir`);
  }
  // A single thread's run leaves the directory as it always was.
  if (count === 1) return;
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, MARKER), `${count}\n`);
}

function entries(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}
