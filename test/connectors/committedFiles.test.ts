import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../kit/files.ts';
import { CommittedFiles } from '../../connectors/committedFiles.ts';
import { FilePublisher, pendingPath } from '../../connectors/filePublisher.ts';
import { FileCheckpointStore } from '../../core/checkpoint/fileCheckpointStore.ts';
import type { Envelope } from '../../core/record.ts';

const records = (...values: number[]) => values.map((value) => ({ value }) as unknown as Envelope<number>);
const checkpointInput = { positions: [], state: { entries: [] }, operators: {} } as unknown as Parameters<FileCheckpointStore['save']>[0];

/**
 * One process's view of `dir`: a publisher (the log next to the checkpoints) and, per writer, its
 * files and checkpoint store. A new call is a restart: nothing is kept in memory.
 */
function setup(dir: string, writers: ReadonlyArray<number | undefined> = [undefined]) {
  const publisher = new FilePublisher({ directory: join(dir, 'checkpoints') });
  const path = join(dir, 'out.jsonl');
  return {
    path,
    out: () => (existsSync(path) ? readFileSync(path, 'utf8') : ''),
    pending: () => readdirSync(dir).filter((name) => name.includes('pending')),
    writers: writers.map((writer) => {
      const files = new CommittedFiles({ publisher, writer });
      const sink = files.sink<number>({ path, mode: writer === undefined ? 'overwrite' : 'append' });
      const directory = join(dir, 'checkpoints', writer === undefined ? '' : `writer-${writer}`);
      return { sink, store: files.store(new FileCheckpointStore({ directory, log: () => {} })), directory };
    }),
  };
}

describe('output files published at checkpoints (exactly once, embedded)', () => {
  it('shows records in the named file only once their checkpoint completed', async () => {
    const dir = tempDir('sluice-committed-');
    const { writers, out, pending } = setup(dir);
    const { sink, store } = writers[0]!;
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
    assert.deepEqual(pending(), []);
  });

  it('drops what a crashed run wrote after its last checkpoint', async () => {
    const dir = tempDir('sluice-committed-');
    const first = setup(dir).writers[0]!;
    await first.store.latest();
    await first.sink.write(records(1));
    await first.store.save(checkpointInput);
    await first.sink.write(records(2, 3)); // then kill -9: no checkpoint
    const restarted = setup(dir);
    const restored = await restarted.writers[0]!.store.latest();
    assert.ok(restored !== undefined);
    assert.deepEqual(restored.operators, {});
    assert.equal(restarted.out(), '1\n');
    assert.deepEqual(restarted.pending(), [], 'uncommitted output was left behind');
    await restarted.writers[0]!.sink.write(records(2, 3));
    await restarted.writers[0]!.store.save(checkpointInput);
    assert.equal(restarted.out(), '1\n2\n3\n');
  });

  it('finishes a publish that a crash cut short, without writing a record twice', async () => {
    const dir = tempDir('sluice-committed-');
    const { path, writers } = setup(dir);
    const first = writers[0]!;
    await first.store.latest();
    await first.sink.write(records(1, 2));
    await first.store.save(checkpointInput); // epoch 0 published
    await first.sink.write(records(3, 4));
    // Epoch 1: its checkpoint saved and its log line written, then the crash came halfway through the append.
    await new FileCheckpointStore({ directory: first.directory, log: () => {} }).save({ ...checkpointInput, operators: { '$committed-files': { epoch: 1 } } });
    const log = join(dir, 'checkpoints', 'published', readdirSync(join(dir, 'checkpoints', 'published'))[0]!);
    appendFileSync(log, `${JSON.stringify({ writer: null, epoch: 1, start: 4, end: 8 })}\n`);
    appendFileSync(path, '3\n');
    writeFileSync(pendingPath(path, undefined, 2), '5\n'); // an epoch no checkpoint completed
    const restarted = setup(dir);
    await restarted.writers[0]!.store.latest();
    assert.equal(restarted.out(), '1\n2\n3\n4\n');
    assert.deepEqual(restarted.pending(), []);
  });

  it('lets stream threads share a file: each epoch once, in the order each thread committed it', async () => {
    const dir = tempDir('sluice-committed-');
    const { writers: [a, b], out, pending } = setup(dir, [0, 1]);
    await a!.store.latest();
    await b!.store.latest();
    await Promise.all([a!.sink.write(records(1, 2)), b!.sink.write(records(101))]);
    await Promise.all([a!.store.save(checkpointInput), b!.store.save(checkpointInput)]);
    await Promise.all([a!.sink.write(records(3)), b!.sink.write(records(102, 103))]);
    await Promise.all([b!.store.save(checkpointInput), a!.store.save(checkpointInput)]);
    const lines = out().split('\n').filter(Boolean).map(Number);
    assert.deepEqual([...lines].sort((x, y) => x - y), [1, 2, 3, 101, 102, 103]);
    assert.deepEqual(lines.filter((n) => n < 100), [1, 2, 3]);
    assert.deepEqual(lines.filter((n) => n > 100), [101, 102, 103]);
    assert.deepEqual(pending(), []);
  });

  it("takes back a thread's epochs that its damaged newest checkpoint covered, and keeps the other thread's", async () => {
    const dir = tempDir('sluice-committed-');
    const first = setup(dir, [0, 1]);
    const [a, b] = first.writers;
    await a!.store.latest();
    await b!.store.latest();
    await a!.sink.write(records(1));
    await a!.store.save(checkpointInput);
    await b!.sink.write(records(101));
    await b!.store.save(checkpointInput);
    await a!.sink.write(records(2, 3));
    await a!.store.save(checkpointInput); // this one is damaged below
    await b!.sink.write(records(102));
    await b!.store.save(checkpointInput);
    assert.equal(first.out(), '1\n101\n2\n3\n102\n');
    const newest = readdirSync(a!.directory).filter((name) => name.endsWith('.ckpt')).sort().at(-1)!;
    writeFileSync(join(a!.directory, newest), 'SLUICE-CHECKPOINT 1 sha256=00 bytes=1\n{');
    const restarted = setup(dir, [0, 1]);
    await restarted.writers[0]!.store.latest();
    await restarted.writers[1]!.store.latest();
    assert.equal(restarted.out(), '1\n101\n102\n', 'thread 0 replays 2 and 3 from its older checkpoint: they must not stay published');
    // Replayed and committed again: once each.
    await restarted.writers[0]!.sink.write(records(2, 3));
    await restarted.writers[0]!.store.save(checkpointInput);
    assert.equal(restarted.out(), '1\n101\n102\n2\n3\n');
  });

  it('forgets a take-back that a crash interrupted before the file was swapped, and does it again', async () => {
    const dir = tempDir('sluice-committed-');
    const first = setup(dir, [0]);
    const [a] = first.writers;
    await a!.store.latest();
    await a!.sink.write(records(1));
    await a!.store.save(checkpointInput);
    await a!.sink.write(records(2));
    await a!.store.save(checkpointInput);
    const newest = readdirSync(a!.directory).filter((name) => name.endsWith('.ckpt')).sort().at(-1)!;
    writeFileSync(join(a!.directory, newest), 'damaged');
    // The crash left the rewritten file and log (both half made) behind.
    writeFileSync(`${first.path}.rewrite`, '1\n');
    mkdirSync(join(dir, 'checkpoints', 'published'), { recursive: true });
    const log = join(dir, 'checkpoints', 'published', readdirSync(join(dir, 'checkpoints', 'published')).find((name) => name.endsWith('.log'))!);
    writeFileSync(`${log}.rewrite`, '');
    const restarted = setup(dir, [0]);
    await restarted.writers[0]!.store.latest();
    assert.equal(restarted.out(), '1\n');
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.rewrite')), []);
    await restarted.writers[0]!.sink.write(records(2));
    await restarted.writers[0]!.store.save(checkpointInput);
    assert.equal(restarted.out(), '1\n2\n');
  });
});
