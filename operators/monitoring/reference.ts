import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelNotFoundError, parseManifest, type Manifest } from '../../runtime/models/index.ts';

/** The reference a drift monitor compares against: the manifest and the model id metrics name. */
export interface DriftReference {
  /** `fraud@1`: the `model` label of the drift gauges, as `ResolvedModel.id` names it. */
  readonly id: string;
  readonly manifest: Manifest;
}

const PIN = /^(.*)@([1-9]\d*)$/;

function readManifest(path: string): Manifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ModelNotFoundError(`drift reference ${path} not found — run \`npm run train\` to write a registry version, or pass the manifest itself`);
  }
  return parseManifest(JSON.parse(text) as unknown, path);
}

/**
 * The reference of a drift monitor: a manifest already loaded, or a path — a registry
 * (`models/fraud`: its newest version with a manifest), a pinned version (`models/fraud@1`), a
 * version directory or a `manifest.json`. Synchronous, because the operator needs its columns
 * when the pipeline is subscribed; it reads one small JSON file. Unlike `resolveModel` it does
 * not hash the model file: only the histograms matter here.
 *
 * @example
 * loadReference('models/fraud').id; // 'fraud@1'
 */
export function loadReference(reference: Manifest | string): DriftReference {
  if (typeof reference !== 'string') return { id: `${reference.name}@${reference.version}`, manifest: reference };
  const pinned = PIN.exec(reference);
  let path: string;
  if (pinned !== null) path = join(pinned[1]!, pinned[2]!, 'manifest.json');
  else if (reference.endsWith('.json')) path = reference;
  else if (existsSync(join(reference, 'manifest.json'))) path = join(reference, 'manifest.json');
  else path = join(reference, String(newestVersion(reference)), 'manifest.json');
  const manifest = readManifest(path);
  return { id: `${manifest.name}@${manifest.version}`, manifest };
}

function newestVersion(registry: string): number {
  let versions: number[] = [];
  try {
    if (statSync(registry).isDirectory()) {
      versions = readdirSync(registry, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && /^[1-9]\d*$/.test(entry.name) && existsSync(join(registry, entry.name, 'manifest.json')))
        .map((entry) => Number(entry.name));
    }
  } catch {
    // Reported below, with what to do.
  }
  if (versions.length === 0) throw new ModelNotFoundError(`drift reference ${registry} has no version with a manifest.json — run \`npm run train\`, or pass models/<name>@<version>`);
  return Math.max(...versions);
}
