import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../kit/files.ts';
import { CommittedFiles } from '../../connectors/committedFiles.ts';
import { FileCheckpointStore } from '../../core/checkpoint/fileCheckpointStore.ts';
import type { Envelope } from '../../core/record.ts';

const records = (...values: number[]) => values.map((value) => ({ value }) as unknown as Envelope<number>);
const checkpointInput = { positions: [], state: { entries: [] }, operators: {} } as unknown as Parameters<FileCheckpointStore['save']>[0];

function setup(dir: string) {
  const files = new CommittedFiles();
  const sink = files.sink<number>({ path: join(dir, 'out.jsonl') });
  const store = files.store(new FileCheckpointStore({ directory: join(dir, 'checkpoints'), log: () => {} }));
  return { sink, store, out: () => (existsSync(join(dir, 'out.jsonl')) ? readFileSync(join(dir, 'out.jsonl'), 'utf8') : '') };
}

describe('output files published at checkpoints (exactly once, embedded)', () => {
  it('shows records in the named file only once their checkpoint completed', async () => {
    const dir = tempDir('sluice-committed-');
    const { sink, store, out } = setup(dir);
    assert.equal(await store.latest(), undefined);
    await sink.write(records(1, 2));
    assert.equal(out(), '', 'records are visible before their checkpoint');
    const checkpoint = await store.save(checkpointInput);
    assert.equal(out(), '1\n2\n');
    assert.deepEqual(checkpoint.operators, {}, 'the publish manifest leaks to the job');
    await sink.write(records(3));
    assert.equal(out(), '1\n2\n');
    await store.save(checkpointInput);
    assert.equal(out(), '1\n2\n3\n');
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('pending')), []);
  });

  it('drops what a crashed run wrote after its last checkpoint', async () => {
    const dir = tempDir('sluice-committed-');
    const first = setup(dir);
    await first.store.latest();
    await first.sink.write(records(1));
    await first.store.save(checkpointInput);
    await first.sink.write(records(2, 3)); // then kill -9: no checkpoint
    const restarted = setup(dir);
    const restored = await restarted.store.latest();
    assert.ok(restored !== undefined);
    assert.deepEqual(restored.operators, {});
    assert.equal(restarted.out(), '1\n');
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('pending')), [], 'uncommitted output was left behind');
    await restarted.sink.write(records(2, 3));
    await restarted.store.save(checkpointInput);
    assert.equal(restarted.out(), '1\n2\n3\n');
  });

  it('finishes a publish that a crash cut short, without writing a record twice', async () => {
    const dir = tempDir('sluice-committed-');
    const path = join(dir, 'out.jsonl');
    // A checkpoint saved with its manifest, and the crash came halfway through the append.
    writeFileSync(path, '1\n2\n3\n');
    writeFileSync(`${path}.pending-4`, '3\n4\n');
    writeFileSync(`${path}.pending-5`, '5\n');
    await new FileCheckpointStore({ directory: join(dir, 'checkpoints'), log: () => {} }).save({ ...checkpointInput, operators: { '$committed-files': { epoch: 4, files: { [path]: { before: 4, after: 8 } } } } });
    const restarted = setup(dir);
    await restarted.store.latest();
    assert.equal(restarted.out(), '1\n2\n3\n4\n');
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('pending')), []);
  });
});
