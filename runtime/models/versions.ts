import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../core/errors.ts';
import { ManifestError } from './errors.ts';
import { parseManifest, type Manifest } from './manifest.ts';

/** The outcome of checking one version directory. */
export type VersionCheck =
  | { readonly state: 'valid'; readonly version: number; readonly manifest: Manifest; readonly modelPath: string }
  /** No manifest yet: training writes it last, so the version is still being written. */
  | { readonly state: 'incomplete'; readonly version: number; readonly reason: string }
  | { readonly state: 'broken'; readonly version: number; readonly reason: string };

/**
 * The numbered version directories of a registry, newest first.
 *
 * @example
 * await listVersions('models/fraud'); // [2, 1]
 */
export async function listVersions(registry: string): Promise<number[]> {
  const entries = await readdir(registry, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && /^[1-9]\d*$/.test(entry.name))
    .map((entry) => Number(entry.name))
    .sort((a, b) => b - a);
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/**
 * Checks one version directory: a manifest that parses and validates, that names this version,
 * and a model file whose sha256 and size are the manifest's (so a model half-written or
 * replaced after training is not loaded). It does not open the model in onnxruntime: that is
 * `validateCandidate`'s job, before a version serves.
 *
 * @example
 * const check = await checkVersion('models/fraud', 1);
 * if (check.state === 'valid') console.log(check.manifest.metrics.auc);
 */
export async function checkVersion(registry: string, version: number): Promise<VersionCheck> {
  const directory = join(registry, String(version));
  const manifestPath = join(directory, 'manifest.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch {
    return { state: 'incomplete', version, reason: 'no manifest.json yet (training writes it last)' };
  }
  let manifest: Manifest;
  try {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ManifestError(`${manifestPath} is not JSON (${describeError(error)})`);
    }
    manifest = parseManifest(json, manifestPath);
  } catch (error) {
    return { state: 'broken', version, reason: describeError(error) };
  }
  if (manifest.version !== version) {
    return { state: 'broken', version, reason: `${manifestPath} says version ${manifest.version}, but it is in directory ${version}` };
  }
  const modelPath = join(directory, manifest.model.file);
  let size: number;
  try {
    size = (await stat(modelPath)).size;
  } catch {
    return { state: 'broken', version, reason: `${modelPath} is missing` };
  }
  if (size !== manifest.model.bytes || (await sha256(modelPath)) !== manifest.model.sha256) {
    return { state: 'broken', version, reason: `${modelPath} is not the file its manifest describes (size or sha256 differ): retrain the version or restore the file` };
  }
  return { state: 'valid', version, manifest, modelPath };
}
