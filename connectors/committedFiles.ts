import { appendFile, open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Checkpoint, CheckpointInput, CheckpointStore } from '../core/checkpoint/checkpoint.ts';
import type { Sink } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';

/** Where a checkpoint keeps what it published of each file (an entry of its operators map). */
const MANIFEST = '$committed-files';

interface Manifest {
  /** The epoch this checkpoint closed: its records were in `<path>.pending-<epoch>`. */
  readonly epoch: number;
  /** Per file: its length before and after the epoch's records were published. */
  readonly files: Readonly<Record<string, { readonly before: number; readonly after: number }>>;
}

interface File {
  readonly path: string;
  readonly mode: 'overwrite' | 'append';
  /** The writes of the open epoch, in order. */
  chain: Promise<void>;
}

/**
 * Exactly-once output files for embedded runs: records are written to a pending file of the
 * current epoch (`<path>.pending-<n>`), and a checkpoint publishes them: it closes the epoch,
 * records in the checkpoint the file lengths before and after, saves the checkpoint, then
 * appends the pending file to the named file and deletes it. The named file therefore only ever
 * holds output of completed checkpoints. On start, the newest checkpoint's lengths repair the
 * files: a publish cut short by a crash is redone, pending files of later (uncommitted) epochs
 * are deleted, and the named file is cut back to what that checkpoint covered.
 *
 * @example
 * const files = new CommittedFiles();
 * const sink = files.sink<Decision>({ path: 'out/decisions.jsonl' });
 * const store = files.store(new FileCheckpointStore({ directory: '.sluice/job/checkpoints' }));
 */
export class CommittedFiles {
  readonly #files = new Map<string, File>();
  #epoch = 0;

  /** A JSONL sink whose records become visible in `path` when a checkpoint completes. */
  sink<T>(options: { path: string; mode?: 'overwrite' | 'append'; format?: (record: Envelope<T>) => unknown }): Sink<T> & { readonly path: string } {
    const file: File = { path: options.path, mode: options.mode ?? 'overwrite', chain: Promise.resolve() };
    this.#files.set(options.path, file);
    mkdirSync(dirname(options.path), { recursive: true });
    const format = options.format ?? ((record: Envelope<T>) => record.value);
    return {
      name: `file:${options.path} (published at checkpoints)`,
      path: options.path,
      write: (records) => {
        let text = '';
        for (const record of records) text += JSON.stringify(format(record)) + '\n';
        if (text === '') return Promise.resolve();
        const pending = pendingPath(file.path, this.#epoch);
        const written = file.chain.then(() => appendFile(pending, text));
        file.chain = written.catch(() => {});
        return written;
      },
    };
  }

  /** `inner` with each save publishing the epoch it closes, and `latest()` repairing the files. */
  store(inner: CheckpointStore): CheckpointStore {
    return {
      save: (input) => this.#save(inner, input),
      latest: () => this.#recover(inner),
    };
  }

  async #save(inner: CheckpointStore, input: CheckpointInput): Promise<Checkpoint> {
    // The cut, before any await: writes from now on belong to the next epoch.
    const epoch = this.#epoch;
    this.#epoch += 1;
    const files: Record<string, { before: number; after: number }> = {};
    for (const file of this.#files.values()) {
      await file.chain;
      const pending = pendingPath(file.path, epoch);
      const size = await fsyncedSize(pending);
      const before = (await sizeOf(file.path)) ?? 0;
      files[file.path] = { before, after: before + size };
    }
    const manifest: Manifest = { epoch, files };
    const checkpoint = await inner.save({ ...input, operators: { ...input.operators, [MANIFEST]: manifest } });
    await this.#publish(manifest);
    return withoutManifest(checkpoint);
  }

  async #recover(inner: CheckpointStore): Promise<Checkpoint | undefined> {
    const checkpoint = await inner.latest();
    const manifest = checkpoint?.operators[MANIFEST] as Manifest | undefined;
    for (const file of this.#files.values()) {
      const covered = manifest?.files[file.path];
      if (covered !== undefined) await this.#publishOne(file.path, manifest!.epoch, covered);
      else if (file.mode === 'overwrite' && (await sizeOf(file.path)) !== undefined) await truncate(file.path, 0);
      // Pending files of epochs no checkpoint completed: output that was never committed.
      const prefix = `${basename(file.path)}.pending-`;
      for (const name of await readdir(dirname(file.path))) if (name.startsWith(prefix)) await rm(join(dirname(file.path), name), { force: true });
    }
    this.#epoch = manifest === undefined ? 0 : manifest.epoch + 1;
    return checkpoint === undefined ? undefined : withoutManifest(checkpoint);
  }

  async #publish(manifest: Manifest): Promise<void> {
    for (const [path, covered] of Object.entries(manifest.files)) await this.#publishOne(path, manifest.epoch, covered);
  }

  /** Makes `path` exactly `after` long with the epoch's records at the end; idempotent, so a crash may repeat it. */
  async #publishOne(path: string, epoch: number, { before, after }: { before: number; after: number }): Promise<void> {
    const pending = pendingPath(path, epoch);
    if ((await sizeOf(pending)) !== undefined) {
      if (after > before) {
        if (((await sizeOf(path)) ?? 0) > before) await truncate(path, before);
        const handle = await open(path, 'a');
        try {
          const pendingHandle = await open(pending, 'r');
          try {
            for await (const chunk of pendingHandle.createReadStream({ autoClose: false })) await handle.write(chunk as Buffer);
          } finally {
            await pendingHandle.close();
          }
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await rm(pending, { force: true });
    }
    if (((await sizeOf(path)) ?? 0) > after) await truncate(path, after);
  }
}

function pendingPath(path: string, epoch: number): string {
  return `${path}.pending-${epoch}`;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** The pending file's size after an fsync (0 when the epoch wrote nothing). */
async function fsyncedSize(path: string): Promise<number> {
  let handle;
  try {
    handle = await open(path, 'r+');
  } catch {
    return 0;
  }
  try {
    await handle.sync();
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}

function withoutManifest(checkpoint: Checkpoint): Checkpoint {
  const { [MANIFEST]: _manifest, ...operators } = checkpoint.operators;
  return { ...checkpoint, operators };
}
