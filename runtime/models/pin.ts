import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelNotFoundError } from './errors.ts';

/** The pin file of a registry: one version number; while it exists, running jobs serve that version. */
export const PIN_FILE = 'PINNED';

/**
 * The version a registry is pinned to, or undefined when it has no pin file (follow the newest).
 * Rejects with ModelNotFoundError when the file holds anything but a positive integer.
 *
 * @example
 * await readPin('models/fraud'); // 1 after `sluice model use fraud@1`
 */
export async function readPin(registry: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(registry, PIN_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pin = text.trim();
  if (!/^[1-9]\d*$/.test(pin)) {
    throw new ModelNotFoundError(`${join(registry, PIN_FILE)} holds ${JSON.stringify(pin.slice(0, 40))}, not a version number — rewrite it with \`sluice model use <name>@<version>\``);
  }
  return Number(pin);
}

/**
 * Pins a registry to `version`, or removes the pin (`undefined`): written to a temporary file
 * and renamed, so a job reading it never sees half a number.
 *
 * @example
 * await writePin('models/fraud', 1); // rollback: running jobs go back to fraud@1
 * await writePin('models/fraud', undefined); // follow the newest valid version again
 */
export async function writePin(registry: string, version: number | undefined): Promise<void> {
  const path = join(registry, PIN_FILE);
  if (version === undefined) {
    await rm(path, { force: true });
    return;
  }
  const temporary = join(registry, `.${PIN_FILE}.${process.pid}.tmp`);
  await writeFile(temporary, `${version}\n`);
  await rename(temporary, path);
}
