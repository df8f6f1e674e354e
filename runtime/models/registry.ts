import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, resolve as resolvePath } from 'node:path';
import { describeError } from '../../core/errors.ts';
import { ModelNotFoundError } from './errors.ts';
import type { Manifest } from './manifest.ts';
import { checkVersion, listVersions } from './versions.ts';

/** A newer version passed over because it is not usable, and why. */
export interface SkippedVersion {
  readonly version: number;
  readonly reason: string;
}

/** What a model spec resolved to. */
export interface ResolvedModel {
  /** Registry name (`fraud`), or the file name without `-vN` for a bare .onnx file. */
  readonly name: string;
  /** The version number; from `-vN` in a bare file's name, undefined when it has none. */
  readonly version: number | undefined;
  /** How output records name the version: `fraud@3` from a registry, the file's base name (`fraud-v1`) for a bare file. */
  readonly id: string;
  readonly modelPath: string;
  /** The version's manifest; undefined for a bare .onnx file. */
  readonly manifest: Manifest | undefined;
  /** Newer versions that were not usable (newest resolution only). */
  readonly skipped: readonly SkippedVersion[];
}

const PIN = /^(.*)@([^@/]*)$/;

function fromRegistry(version: number, manifest: Manifest, modelPath: string, skipped: SkippedVersion[]): ResolvedModel {
  return { name: manifest.name, version, id: `${manifest.name}@${version}`, modelPath: resolvePath(modelPath), manifest, skipped };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function resolveFile(path: string): Promise<ResolvedModel> {
  try {
    await stat(path);
  } catch {
    throw new ModelNotFoundError(`model file not found: ${path} — run \`npm run train\` to build a registry version, or point the job at an existing .onnx file`);
  }
  const base = basename(path).replace(/\.onnx$/, '');
  const match = /^(.*)-v(\d+)$/.exec(base);
  return { name: match?.[1] ?? base, version: match === null ? undefined : Number(match[2]), id: base, modelPath: resolvePath(path), manifest: undefined, skipped: [] };
}

async function resolveNewest(registry: string): Promise<ResolvedModel> {
  const skipped: SkippedVersion[] = [];
  for (const version of await listVersions(registry)) {
    const check = await checkVersion(registry, version);
    if (check.state === 'valid') return fromRegistry(version, check.manifest, check.modelPath, skipped);
    skipped.push({ version, reason: check.reason });
  }
  const why = skipped.length === 0 ? 'it has no version directories' : skipped.map((s) => `${s.version}: ${s.reason}`).join('; ');
  throw new ModelNotFoundError(`no valid model version in ${registry} (${why}) — run \`npm run train\` to write one`);
}

async function resolvePinned(registry: string, pin: string, spec: string): Promise<ResolvedModel> {
  if (!/^[1-9]\d*$/.test(pin)) {
    throw new ModelNotFoundError(`${spec}: the version after @ must be a positive integer, e.g. ${registry}@1`);
  }
  const version = Number(pin);
  const available = await listVersions(registry);
  if (!available.includes(version)) {
    const list = available.length === 0 ? 'none' : [...available].reverse().join(', ');
    throw new ModelNotFoundError(`${spec} not found: available versions in ${registry} are ${list} — pin one of them or run \`npm run train\``);
  }
  const check = await checkVersion(registry, version);
  if (check.state !== 'valid') throw new ModelNotFoundError(`${spec} is not usable: ${check.reason}`);
  return fromRegistry(version, check.manifest, check.modelPath, []);
}

/**
 * Resolves a model spec: `models/fraud` → the newest version whose manifest is valid and whose
 * model file matches it (broken newer ones are listed in `skipped` with the reason);
 * `models/fraud@3` → exactly version 3; `models/fraud-v1.onnx` → that file, no manifest.
 * Rejects with ModelNotFoundError, one line that says what exists and what to do.
 *
 * @example
 * const model = await resolveModel('models/fraud');      // { id: 'fraud@1', modelPath: '.../models/fraud/1/model.onnx', ... }
 * const pinned = await resolveModel('models/fraud@1');
 * const file = await resolveModel('models/fraud-v1.onnx'); // { id: 'fraud-v1', version: 1, manifest: undefined }
 */
export async function resolveModel(spec: string): Promise<ResolvedModel> {
  const pinned = PIN.exec(spec);
  const registry = pinned?.[1] ?? spec;
  if (pinned === null && spec.endsWith('.onnx')) return resolveFile(spec);
  if (!(await isDirectory(registry))) {
    throw new ModelNotFoundError(`model registry ${registry} not found — run \`npm run train\` to create it, or pass an .onnx file`);
  }
  return pinned === null ? resolveNewest(registry) : resolvePinned(registry, pinned[2]!, spec);
}

/** Options of {@link watchRegistry}. */
export interface WatchRegistryOptions {
  /** Report only versions above this one (default: the newest valid version when watching starts). */
  readonly after?: number;
  /** Quiet time after the last file event before the registry is scanned (default 200 ms). */
  readonly debounceMs?: number;
  /** Scan this often whatever fs.watch says: the fallback where file events are missed or unsupported (default 5000 ms). */
  readonly pollMs?: number;
  /** A newer version that is broken (not merely incomplete), reported once per version and reason. */
  readonly onSkipped?: (skipped: SkippedVersion) => void;
  /** A scan that failed (e.g. the registry directory was removed). */
  readonly onError?: (error: Error) => void;
}

/** A running watch; `scan()` checks now (also what the file events and the poll call). */
export interface RegistryWatcher {
  scan(): Promise<ResolvedModel | undefined>;
  close(): void;
}

/**
 * Watches a registry and calls `onNewVersion` once for each newer valid version (the newest, when
 * several appear at once). A version counts only when its manifest is complete and its model
 * matches it, so a model file being written, or a version without its manifest yet, is not
 * picked up early. fs.watch (recursive) triggers a debounced scan; a slow poll covers file systems
 * where events are missed or fs.watch is unavailable.
 *
 * @example
 * const watcher = await watchRegistry('models/fraud', (model) => pool.swapTo(model));
 * // ... later
 * watcher.close();
 */
export async function watchRegistry(registry: string, onNewVersion: (model: ResolvedModel) => void, options: WatchRegistryOptions = {}): Promise<RegistryWatcher> {
  const debounceMs = options.debounceMs ?? 200;
  const pollMs = options.pollMs ?? 5000;
  let known = options.after ?? (await resolveModel(registry).then((m) => m.version ?? 0, () => 0));
  const reported = new Set<string>();
  let running: Promise<ResolvedModel | undefined> | undefined;
  let again = false;
  let closed = false;

  async function scanOnce(): Promise<ResolvedModel | undefined> {
    for (const version of await listVersions(registry)) {
      if (version <= known) break;
      const check = await checkVersion(registry, version);
      if (check.state === 'valid') {
        known = version;
        const model = fromRegistry(version, check.manifest, check.modelPath, []);
        if (!closed) onNewVersion(model);
        return model;
      }
      const key = `${version}\n${check.reason}`;
      if (check.state === 'broken' && !reported.has(key)) {
        reported.add(key);
        options.onSkipped?.({ version, reason: check.reason });
      }
    }
    return undefined;
  }

  // Scans never overlap; an event during a scan queues one more scan after it.
  function scan(): Promise<ResolvedModel | undefined> {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = scanOnce()
      .catch((error: unknown) => {
        options.onError?.(error instanceof Error ? error : new Error(describeError(error)));
        return undefined;
      })
      .finally(() => {
        running = undefined;
        if (again && !closed) {
          again = false;
          void scan();
        }
      });
    return running;
  }

  let debounce: NodeJS.Timeout | undefined;
  const onEvent = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void scan(), debounceMs);
    debounce.unref();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(registry, { recursive: true }, onEvent);
    watcher.on('error', () => watcher?.close()); // the poll carries on alone
  } catch {
    watcher = undefined; // recursive watching unsupported here: the poll alone finds new versions
  }
  const poll = setInterval(() => void scan(), pollMs);
  poll.unref();

  return {
    scan,
    close() {
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      watcher?.close();
    },
  };
}
