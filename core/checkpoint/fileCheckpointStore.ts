import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, InvalidOptionError, requirePositiveInteger } from '../errors.ts';
import type { Checkpoint, CheckpointInput, CheckpointStore } from './checkpoint.ts';
import { decodeCheckpoint, encodeCheckpoint } from './checkpointFile.ts';
import { CheckpointError, CorruptCheckpointError } from './errors.ts';

export interface FileCheckpointStoreOptions {
  /** One directory per job (and per process, when several run on one machine). */
  directory: string;
  /** Checkpoints to keep; older ones are deleted after each save. Default 3, so a damaged newest one still leaves a good one. */
  keep?: number;
  /** Where the store reports a corrupt file it skipped; stderr by default. */
  log?: (line: string) => void;
}

const FILE = /^checkpoint-(\d{12})\.ckpt$/;
const TEMP = /^\.checkpoint-\d+\..*\.tmp$/;

/**
 * Checkpoints as files in a directory, written so that a crash at any instant (`kill -9`, power
 * loss) leaves either the previous checkpoints or the new one, never a half-written file under a
 * checkpoint's name: the bytes go to a temporary file, which is fsynced, renamed into place
 * (atomic on POSIX), and the directory is fsynced so the rename itself is durable. Each file
 * carries a SHA-256 of its body; `latest()` skips one that does not check out (disk damage, a
 * copy cut short) with one log line naming it, and falls back to the one before.
 *
 * One writer per directory: saves from this store are serialized; two processes must not share
 * a directory.
 *
 * @example
 * const store = new FileCheckpointStore({ directory: '.sluice/merchant-windows/checkpoints' });
 * await store.save({ positions, state: snapshotState(backend), operators: { windows: windows.snapshot() } });
 * const last = await store.latest(); // on start: restore it and replay from its positions
 */
export class FileCheckpointStore implements CheckpointStore {
  readonly directory: string;
  readonly keep: number;
  readonly #log: (line: string) => void;
  /** Highest id seen on disk or written; undefined until the directory was read. */
  #lastId: number | undefined;
  /** Saves run one after another. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: FileCheckpointStoreOptions) {
    if (typeof options.directory !== 'string' || options.directory === '') throw new InvalidOptionError('directory must be a non-empty path');
    this.directory = options.directory;
    this.keep = requirePositiveInteger('keep', options.keep ?? 3);
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /** Writes the next checkpoint durably, then deletes the ones beyond `keep` and stale temporary files. */
  save(input: CheckpointInput): Promise<Checkpoint> {
    const run = this.#queue.then(() => this.#save(input));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** The newest checkpoint that reads back intact; corrupt ones are skipped with a log line each. */
  async latest(): Promise<Checkpoint | undefined> {
    const files = await this.list();
    for (let i = files.length - 1; i >= 0; i--) {
      const { path } = files[i]!;
      try {
        return decodeCheckpoint(await readFile(path), path);
      } catch (error) {
        if (!(error instanceof CorruptCheckpointError)) throw new CheckpointError(`cannot read checkpoint ${path}: ${describeError(error)}`, { cause: error });
        const previous = i > 0 ? `falling back to ${files[i - 1]!.path}` : 'no older checkpoint to fall back to';
        this.#log(`sluice: ${error.message}; ${previous}`);
      }
    }
    return undefined;
  }

  /** Checkpoint files present, oldest first (not checked; `latest()` checks). */
  async list(): Promise<Array<{ id: number; path: string }>> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new CheckpointError(`cannot list checkpoints in ${this.directory}: ${describeError(error)}`, { cause: error });
    }
    const files: Array<{ id: number; path: string }> = [];
    for (const name of names) {
      const match = FILE.exec(name);
      if (match !== null) files.push({ id: Number(match[1]), path: join(this.directory, name) });
    }
    files.sort((a, b) => a.id - b.id);
    const newest = files.at(-1)?.id ?? 0;
    if (this.#lastId === undefined || newest > this.#lastId) this.#lastId = newest;
    return files;
  }

  async #save(input: CheckpointInput): Promise<Checkpoint> {
    try {
      await mkdir(this.directory, { recursive: true });
      if (this.#lastId === undefined) await this.list();
      const id = this.#lastId! + 1;
      const checkpoint: Checkpoint = { id, createdAt: input.createdAt ?? Date.now(), positions: input.positions, state: input.state, operators: input.operators };
      const bytes = encodeCheckpoint(checkpoint);
      const temp = join(this.directory, `.checkpoint-${id}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      const file = await open(temp, 'wx');
      try {
        await file.writeFile(bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, join(this.directory, checkpointName(id)));
      await syncDirectory(this.directory);
      this.#lastId = id;
      await this.#prune();
      return checkpoint;
    } catch (error) {
      throw error instanceof CheckpointError ? error : new CheckpointError(`cannot write a checkpoint to ${this.directory}: ${describeError(error)}`, { cause: error });
    }
  }

  /** Deletes checkpoints beyond `keep` and temporary files a crashed save left behind. */
  async #prune(): Promise<void> {
    const names = await readdir(this.directory);
    const files = names.filter((name) => FILE.test(name)).sort();
    const stale = [...files.slice(0, Math.max(0, files.length - this.keep)), ...names.filter((name) => TEMP.test(name))];
    await Promise.all(stale.map((name) => rm(join(this.directory, name), { force: true })));
  }
}

/** The file name of checkpoint `id`: zero-padded so names sort like ids. */
export function checkpointName(id: number): string {
  return `checkpoint-${String(id).padStart(12, '0')}.ckpt`;
}

/**
 * Makes a rename in the directory durable (POSIX needs the directory itself fsynced).
 *
 * @example
 * await rename(temp, path);
 * await syncDirectory(dirname(path));
 */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
