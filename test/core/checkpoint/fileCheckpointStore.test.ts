import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decodeCheckpoint, encodeCheckpoint } from '../../../core/checkpoint/checkpointFile.ts';
import type { CheckpointInput } from '../../../core/checkpoint/checkpoint.ts';
import { CorruptCheckpointError } from '../../../core/checkpoint/errors.ts';
import { checkpointName, FileCheckpointStore } from '../../../core/checkpoint/fileCheckpointStore.ts';

async function directory(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sluice-checkpoints-'));
}

function input(offset: number): CheckpointInput {
  return {
    positions: [{ topic: 'tx', partition: 0, offset }, { topic: 'tx', partition: 1, offset: offset * 2 }],
    state: { 'tx/0': [['count', 'user-1', { n: offset }, null]], 'tx/1': [['count', 'user-2', offset, 1_700_000_000_000]] },
    operators: { windows: { version: 1, watermarks: { watermark: offset, partitions: {} }, windows: {} } },
  };
}

function quietStore(dir: string, keep?: number): { store: FileCheckpointStore; lines: string[] } {
  const lines: string[] = [];
  return { store: new FileCheckpointStore({ directory: dir, keep, log: (line) => lines.push(line) }), lines };
}

test('save then latest round-trips a checkpoint; ids increase; an empty directory has none', async () => {
  const dir = await directory();
  const { store, lines } = quietStore(join(dir, 'not-yet-created'));
  assert.equal(await store.latest(), undefined);
  const first = await store.save({ ...input(10), createdAt: 123 });
  const second = await store.save(input(20));
  assert.equal(first.id, 1);
  assert.equal(second.id, 2);
  const latest = await store.latest();
  assert.deepEqual(latest, second);
  assert.deepEqual(latest?.positions, [{ topic: 'tx', partition: 0, offset: 20 }, { topic: 'tx', partition: 1, offset: 40 }]);
  assert.deepEqual(latest?.state, input(20).state);
  // A new store on the same directory (a restarted process) continues the ids.
  const reopened = quietStore(join(dir, 'not-yet-created')).store;
  assert.equal((await reopened.save(input(30))).id, 3);
  assert.deepEqual(lines, []);
  await rm(dir, { recursive: true });
});

test('keeps the last N checkpoints', async () => {
  const dir = await directory();
  const { store } = quietStore(dir, 2);
  for (let i = 1; i <= 5; i++) await store.save(input(i));
  assert.deepEqual(await readdir(dir), [checkpointName(4), checkpointName(5)]);
  await rm(dir, { recursive: true });
});

test('a crash mid-write (a partial temp file left behind) is invisible: latest is the previous checkpoint, the next save cleans up', async () => {
  const dir = await directory();
  const { store, lines } = quietStore(dir);
  await store.save(input(1));
  const good = await store.save(input(2));
  // What a save killed between its write and its rename leaves: half a file under a temp name.
  const bytes = encodeCheckpoint({ ...input(3), id: 3, createdAt: 0 });
  await writeFile(join(dir, '.checkpoint-3.4242.deadbeef.tmp'), bytes.subarray(0, bytes.length >> 1));

  const restarted = quietStore(dir);
  assert.deepEqual(await restarted.store.latest(), good);
  assert.deepEqual(restarted.lines, [], 'a temp file is not a checkpoint: nothing to report');
  assert.equal((await restarted.store.save(input(3))).id, 3);
  assert.deepEqual((await readdir(dir)).sort(), [checkpointName(1), checkpointName(2), checkpointName(3)]);
  assert.deepEqual(lines, []);
  await rm(dir, { recursive: true });
});

for (const [damage, expected] of [
  ['truncated', /truncated: \d+ of \d+ bytes/],
  ['one byte flipped', /checksum mismatch/],
  ['emptied', /empty file/],
  ['overwritten with junk', /no checkpoint header/],
] as const) {
  test(`a ${damage} newest checkpoint is detected, and the previous good one is used with one log line naming the file`, async () => {
    const dir = await directory();
    const { store, lines } = quietStore(dir);
    await store.save(input(1));
    const good = await store.save(input(2));
    await store.save(input(3));
    const bad = join(dir, checkpointName(3));
    const bytes = await readFile(bad);
    if (damage === 'truncated') await truncate(bad, bytes.length - 17);
    if (damage === 'one byte flipped') {
      bytes[bytes.length - 30] ^= 0x01;
      await writeFile(bad, bytes);
    }
    if (damage === 'emptied') await truncate(bad, 0);
    if (damage === 'overwritten with junk') await writeFile(bad, 'hello\nworld\n');

    assert.deepEqual(await store.latest(), good);
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.includes(bad), `the line names the bad file: ${lines[0]}`);
    assert.match(lines[0]!, expected);
    assert.ok(lines[0]!.includes(`falling back to ${join(dir, checkpointName(2))}`), lines[0]);
    await rm(dir, { recursive: true });
  });
}

test('when every checkpoint is corrupt, latest() says so for each and returns undefined', async () => {
  const dir = await directory();
  const { store, lines } = quietStore(dir);
  await store.save(input(1));
  await truncate(join(dir, checkpointName(1)), 10);
  assert.equal(await store.latest(), undefined);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /checkpoint-000000000001\.ckpt is corrupt .*no older checkpoint to fall back to/);
  await rm(dir, { recursive: true });
});

test('the file format: a header with version, sha256 and length, then the JSON body', () => {
  const bytes = encodeCheckpoint({ ...input(1), id: 7, createdAt: 5 });
  const [header, body] = bytes.toString('utf8').split('\n');
  assert.match(header!, /^SLUICE-CHECKPOINT 1 sha256=[0-9a-f]{64} bytes=\d+$/);
  assert.equal(JSON.parse(body!).id, 7);
  assert.equal(decodeCheckpoint(bytes, 'x').id, 7);
  const wrongShape = encodeCheckpoint({ id: 1, createdAt: 1, positions: 'no' } as never);
  assert.throws(() => decodeCheckpoint(wrongShape, 'x'), new CorruptCheckpointError('x', '`positions` is not an array'));
});

test('kill -9 in the middle of a save: every checkpoint file left reads back intact, and latest() is the last one reported saved or the one after', async () => {
  const dir = await directory();
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const writer = fileURLToPath(new URL('./fixtures/checkpointWriter.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', tsx, writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lastSaved = 0;
  let watcher: FSWatcher | undefined;
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n').slice(0, -1)) lastSaved = Number(line.split(' ')[1]);
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
      if (lastSaved >= 3 && watcher === undefined) {
        // Kill the writer the moment the next save creates a file: in the middle of writing it.
        watcher = watch(dir, () => {
          child.kill('SIGKILL');
          resolve();
        });
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited with ${code}`))));
  });
  watcher?.close();
  await new Promise((resolve) => child.once('close', resolve));

  const { store, lines } = quietStore(dir);
  for (const { path } of await store.list()) decodeCheckpoint(await readFile(path), path); // throws if one is partial
  const latest = await store.latest();
  assert.ok(latest !== undefined && latest.id >= lastSaved && latest.id <= lastSaved + 1, `latest ${latest?.id}, last reported ${lastSaved}`);
  assert.deepEqual(lines, []);
  await rm(dir, { recursive: true });
});
