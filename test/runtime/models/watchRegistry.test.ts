import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { watchRegistry, type ResolvedModel, type SkippedVersion } from '../../../runtime/models/index.ts';
import { tempRegistry, writeVersion } from './registryKit.ts';

// Scans are driven by hand (`scan()`) so the logic is tested without timers; the last test
// waits for a real fs.watch event (an event, not a sleep: it fails by the test timeout).
const HOUR = 3_600_000;

test('a new version is reported once, and only when its manifest is complete', async (t) => {
  const registry = tempRegistry();
  t.after(registry.remove);
  writeVersion(registry.dir, 1);
  const seen: ResolvedModel[] = [];
  const watcher = await watchRegistry(registry.dir, (model) => seen.push(model), { pollMs: HOUR, debounceMs: HOUR });
  t.after(() => watcher.close());

  assert.equal(await watcher.scan(), undefined, 'version 1 was there at the start: not new');
  writeVersion(registry.dir, 2, { manifest: 'none' }); // the model is written, the manifest not yet
  assert.equal(await watcher.scan(), undefined);
  writeVersion(registry.dir, 2);
  assert.equal((await watcher.scan())?.id, 'fraud@2');
  assert.equal(await watcher.scan(), undefined, 'reported once');
  assert.deepEqual(seen.map((m) => m.id), ['fraud@2']);
  assert.equal(seen[0]!.modelPath, join(registry.dir, '2/model.onnx'));
});

test('a broken newer version is reported to onSkipped once and never served; a later good one is', async (t) => {
  const registry = tempRegistry();
  t.after(registry.remove);
  writeVersion(registry.dir, 1);
  const seen: string[] = [];
  const skipped: SkippedVersion[] = [];
  const watcher = await watchRegistry(registry.dir, (model) => seen.push(model.id), { pollMs: HOUR, debounceMs: HOUR, onSkipped: (s) => skipped.push(s) });
  t.after(() => watcher.close());
  writeVersion(registry.dir, 2, { manifest: (m) => ({ ...m, features: ['only_one'] }) });
  await watcher.scan();
  await watcher.scan();
  assert.deepEqual(skipped.map((s) => s.version), [2]);
  assert.match(skipped[0]!.reason, /not a valid model manifest: reference.features/);
  writeVersion(registry.dir, 3);
  writeVersion(registry.dir, 4);
  await watcher.scan();
  assert.deepEqual(seen, ['fraud@4'], 'two new versions at once: the newest is served');
});

test('`after` sets the version already served; close() stops reporting', async (t) => {
  const registry = tempRegistry();
  t.after(registry.remove);
  writeVersion(registry.dir, 1);
  writeVersion(registry.dir, 2);
  const seen: string[] = [];
  const watcher = await watchRegistry(registry.dir, (model) => seen.push(model.id), { after: 1, pollMs: HOUR, debounceMs: HOUR });
  await watcher.scan();
  assert.deepEqual(seen, ['fraud@2']);
  watcher.close();
  writeVersion(registry.dir, 3);
  await watcher.scan();
  assert.deepEqual(seen, ['fraud@2']);
});

test('fs.watch picks up a version written while watching, without a poll', async (t) => {
  const registry = tempRegistry();
  t.after(registry.remove);
  writeVersion(registry.dir, 1);
  let found: (model: ResolvedModel) => void = () => {};
  const next = new Promise<ResolvedModel>((resolve) => (found = resolve));
  const watcher = await watchRegistry(registry.dir, (model) => found(model), { pollMs: HOUR, debounceMs: 20 });
  t.after(() => watcher.close());
  writeVersion(registry.dir, 2);
  let timeout: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timeout = setTimeout(() => reject(new Error('no file event picked up version 2 within 5 s')), 5000)));
  t.after(() => clearTimeout(timeout));
  assert.equal((await Promise.race([next, late])).id, 'fraud@2');
});
