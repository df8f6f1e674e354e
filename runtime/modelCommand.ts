import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidOptionError } from '../core/errors.ts';
import { ModelNotFoundError } from './models/errors.ts';
import { PIN_FILE, readPin, writePin } from './models/pin.ts';
import { checkVersion, listVersions } from './models/versions.ts';

/** Options of {@link modelUseCommand}. */
export interface ModelUseOptions {
  /** The directory holding the registries (`models`, so `fraud@2` is `models/fraud`); default `models`. */
  readonly registry?: string;
  /** Where the one-line confirmation goes (default stdout). */
  readonly out?: (line: string) => void;
}

const TARGET = /^(.+)@(latest|[1-9]\d*)$/;

/**
 * `sluice model use <name@version> [--registry models]`: pins a registry to one version by
 * writing its PINNED file; running jobs that serve the registry (`--set model=models/fraud`) read
 * it within a second (at once on SIGHUP), validate that version (signature and fixtures: a pin
 * is not held to the serving version's AUC, so a rollback goes through) and swap to it between
 * batches. `name@latest` removes the pin: jobs follow the newest valid version again. Rejects
 * with one line when the registry or version does not exist or the version is broken.
 *
 * @example
 * await modelUseCommand('fraud@1');                          // rollback: models/fraud/PINNED = 1
 * await modelUseCommand('fraud@latest', { registry: 'models' }); // unpin
 */
export async function modelUseCommand(target: string, options: ModelUseOptions = {}): Promise<void> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const match = TARGET.exec(target);
  if (match === null) throw new InvalidOptionError(`sluice model use: "${target}" is not name@version — write e.g. fraud@2, or fraud@latest to follow the newest version`);
  const name = match[1]!;
  // A path (models/fraud@2) names the registry itself; a bare name lives under --registry.
  const registry = name.includes('/') ? name : join(options.registry ?? 'models', name);
  if (!(await stat(registry).then((s) => s.isDirectory(), () => false))) {
    throw new ModelNotFoundError(`model registry ${registry} not found — pass --registry <dir> (the directory holding ${name}/), or run \`npm run train\``);
  }
  const before = await readPin(registry).catch(() => undefined);
  if (match[2] === 'latest') {
    await writePin(registry, undefined);
    out(`${registry}: unpinned${before === undefined ? ' (it was not pinned)' : ` (was ${before})`}; running jobs follow the newest valid version`);
    return;
  }
  const version = Number(match[2]);
  const available = await listVersions(registry);
  if (!available.includes(version)) {
    throw new ModelNotFoundError(`${target}: ${registry} has no version ${version} (it has ${available.length === 0 ? 'none' : [...available].reverse().join(', ')})`);
  }
  const check = await checkVersion(registry, version);
  if (check.state !== 'valid') throw new ModelNotFoundError(`${target} cannot be served: ${check.reason}`);
  await writePin(registry, version);
  out(`${join(registry, PIN_FILE)} = ${version}${before === undefined ? '' : ` (was ${before})`}: running jobs validate ${check.manifest.name}@${version} and swap to it between batches (within a second, or at once on SIGHUP)`);
}
