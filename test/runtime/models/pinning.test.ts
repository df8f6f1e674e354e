import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InferencePool } from '../../../runtime/inferencePool.ts';
import { modelUseCommand } from '../../../runtime/modelCommand.ts';
import { readPin } from '../../../runtime/models/pin.ts';
import { nextEvent, registryWithV1, writeVersion } from './liveKit.ts';

const batch = () => ({ features: new Float32Array(10).fill(0.3), rows: 1, columns: 10, timeoutMs: 10_000 });

describe('registry pins: sluice model use, SIGHUP, rollback', () => {
  const registry = registryWithV1();
  writeVersion(registry.dir, 2);
  const lines: string[] = [];
  const pool = new InferencePool({ workers: 1, models: { log: (line) => lines.push(line), pollMs: 60_000, pinPollMs: 60_000 } });
  after(async () => {
    await pool.close();
    registry.remove();
  });
  const use = (target: string) => modelUseCommand(target, { registry: dirname(registry.dir), out: (line) => lines.push(line) });
  const name = basename(registry.dir);

  it('serves the newest version, rolls back to a pinned one on SIGHUP, and follows the newest again when unpinned', async () => {
    const handle = pool.model(registry.dir, { columns: 10 });
    await pool.ready();
    assert.equal(handle.version, 'fraud@2');
    assert.equal((await handle.run(batch())).modelVersion, 'fraud@2');

    await use(`${name}@1`);
    assert.equal(await readPin(registry.dir), 1);
    assert.match(lines.at(-1)!, /PINNED = 1: running jobs validate fraud@1 and swap to it/);
    const rolledBack = nextEvent(handle);
    process.kill(process.pid, 'SIGHUP'); // what an operator does after `sluice model use`
    assert.deepEqual(await rolledBack, { kind: 'swapped', model: 'fraud', version: 'fraud@1', from: 'fraud@2' });
    assert.equal((await handle.run(batch())).modelVersion, 'fraud@1');

    // While pinned, a newer version is not taken.
    writeVersion(registry.dir, 3);
    await pool.reload();
    assert.equal(handle.version, 'fraud@1');

    await use(`${name}@latest`);
    assert.equal(await readPin(registry.dir), undefined);
    await pool.reload();
    assert.equal(handle.version, 'fraud@3');
    assert.match(lines.join('\n'), /fraud@3 now serving \(was fraud@1; unpinned\)/);
  });

  it('refuses a pin to a missing version at the command, and a garbled pin file leaves the serving version', async () => {
    await assert.rejects(use(`${name}@9`), /has no version 9 \(it has 1, 2, 3\)/);
    await assert.rejects(use('fraud'), /is not name@version/);
    const handle = pool.model(registry.dir, { columns: 10 });
    const before = handle.version;
    writeFileSync(join(registry.dir, 'PINNED'), 'two\n');
    await pool.reload();
    await pool.reload();
    assert.equal(handle.version, before);
    assert.equal(lines.filter((line) => /holds "two", not a version number/.test(line)).length, 1, 'logged once, not on every poll');
  });
});
