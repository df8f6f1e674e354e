import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InferencePool } from '../../../runtime/inferencePool.ts';
import { eventuallyValue } from '../../kit/eventually.ts';
import { nextEvent, registryWithV1, writeVersion } from './liveKit.ts';
import { FIXTURE_MODELS, FRAUD_REGISTRY } from './registryKit.ts';

// A long-running job swaps models many times: a version no handle serves any more must leave
// the workers' memory once its last batch is done, and a version still served must stay.

const batch = () => ({ features: new Float32Array(20).fill(0.3), rows: 2, columns: 10, timeoutMs: 10_000 });

/** A new version that passes validation: fraud@1's model with its fixtures and held-out rows. */
function writeServable(registry: string, version: number): void {
  const directory = writeVersion(registry, version);
  for (const file of ['fixtures.json', 'holdout.csv']) copyFileSync(join(FRAUD_REGISTRY, '1', file), join(directory, file));
}

/**
 * Polls the workers until none has `path` loaded, and resolves with what they have (unloads go out
 * after the last batch ends). The bug leaves a version loaded for good, so the limit only stops
 * the wait: 10 s, not a count of polls a loaded machine could run through before the unload arrives.
 */
function unloaded(pool: InferencePool, what: string, path: string): Promise<string[][]> {
  return eventuallyValue(what, async () => [...(await pool.loadedModels()).values()], (loaded) => loaded.every((paths) => !paths.includes(path)), {
    timeoutMs: 10_000,
    everyMs: 20,
    detail: (loaded) => `still loaded: ${loaded.map((paths) => paths.join(', ')).join(' | ')}`,
  });
}

describe('unloading model versions no handle serves', () => {
  const registry = registryWithV1();
  const pool = new InferencePool({ workers: 2, inlineMs: 0, models: { log: () => {}, pollMs: 60_000, pinPollMs: 60_000 } });
  after(async () => {
    await pool.close();
    registry.remove();
  });
  const v = (n: number) => join(registry.dir, String(n), 'model.onnx');

  it('unloads the version a swap moved past from every worker, once its batches are done; keeps one a pinned handle serves', async () => {
    const following = pool.model(registry.dir, { columns: 10 });
    await pool.ready();
    assert.equal(following.version, 'fraud@1');
    await Promise.all([following.run(batch()), following.run(batch())]);
    assert.equal((await pool.loadedModels()).size, 2, 'both workers answer');

    writeServable(registry.dir, 2);
    const swapped = nextEvent(following);
    await pool.reload();
    assert.deepEqual(await swapped, { kind: 'swapped', model: 'fraud', version: 'fraud@2', from: 'fraud@1' });
    assert.equal((await following.run(batch())).modelVersion, 'fraud@2');
    const loaded = await unloaded(pool, 'fraud@1 to leave every worker', v(1));
    for (const paths of loaded) {
      assert.ok(!paths.includes(v(1)), `fraud@1 still loaded: ${paths.join(', ')}`);
      assert.ok(paths.includes(v(2)), 'the serving version is loaded on every worker');
    }

    // A handle pinned to fraud@2 holds it through the next swap.
    const pinned = pool.model(`${registry.dir}@2`, { columns: 10 });
    await pool.ready();
    writeServable(registry.dir, 3);
    const again = nextEvent(following);
    await pool.reload();
    assert.deepEqual(await again, { kind: 'swapped', model: 'fraud', version: 'fraud@3', from: 'fraud@2' });
    assert.equal((await pinned.run(batch())).modelVersion, 'fraud@2');
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const paths of (await pool.loadedModels()).values()) {
      assert.ok(paths.includes(v(2)), 'fraud@2 unloaded while a pinned handle serves it');
      assert.ok(paths.includes(v(3)), `fraud@3 not loaded: ${paths.join(", ")}`);
    }
  });

  it('unloads a version a shadow loaded and refused: it does not fit the job', async () => {
    const shadow = pool.model(`${registry.dir}@next`, { columns: 10, role: 'shadow' });
    await pool.ready();
    writeVersion(registry.dir, 4, { model: join(FIXTURE_MODELS, 'wrong-width.onnx') });
    const refused = nextEvent(shadow);
    await pool.reload();
    assert.equal((await refused).kind, 'refused');
    const loaded = await unloaded(pool, 'the refused fraud@4 to leave every worker', v(4));
    for (const paths of loaded) assert.ok(!paths.includes(v(4)), `the refused fraud@4 still loaded: ${paths.join(', ')}`);
  });
});
