import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Paths of the real registry and the broken models of test/fixtures/models/make_models.py. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FRAUD_REGISTRY = join(ROOT, 'models/fraud');
export const FRAUD_V1_MANIFEST = join(FRAUD_REGISTRY, '1/manifest.json');
export const FIXTURE_MODELS = join(ROOT, 'test/fixtures/models');
export const PINNED_FIXTURES = join(ROOT, 'models/fixtures/fraud-v1.json');

export function manifestV1(): Record<string, unknown> {
  return JSON.parse(readFileSync(FRAUD_V1_MANIFEST, 'utf8')) as Record<string, unknown>;
}

/** A temporary registry directory, removed by `remove()` (call it from `after`). */
export function tempRegistry(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-registry-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Writes version `version` the way training does: the model file, then the manifest by rename,
 * with v1's manifest (version, sha256 and size of the copied model filled in) unless told otherwise.
 */
export function writeVersion(
  registry: string,
  version: number,
  options: { model?: string; manifest?: 'none' | 'garbage' | ((m: Record<string, unknown>) => Record<string, unknown>) } = {},
): string {
  const directory = join(registry, String(version));
  mkdirSync(directory, { recursive: true });
  const modelPath = join(directory, 'model.onnx');
  copyFileSync(options.model ?? join(FRAUD_REGISTRY, '1/model.onnx'), modelPath);
  if (options.manifest === 'none') return directory;
  const bytes = readFileSync(modelPath);
  let manifest: Record<string, unknown> = {
    ...manifestV1(),
    version,
    model: { file: 'model.onnx', sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, opset: 13 },
  };
  if (typeof options.manifest === 'function') manifest = options.manifest(manifest);
  const text = options.manifest === 'garbage' ? '{"manifestVersion": 1, "name": ' : JSON.stringify(manifest);
  writeFileSync(join(directory, '.manifest.tmp'), text);
  renameSync(join(directory, '.manifest.tmp'), join(directory, 'manifest.json'));
  return directory;
}
