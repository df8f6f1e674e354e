import { appendFile, open } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Checkpoint, CheckpointInput, CheckpointStore } from '../core/checkpoint/checkpoint.ts';
import type { Sink } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';
import { pendingPath, type Publisher } from './filePublisher.ts';

/** Where a checkpoint keeps the epoch it closed (an entry of its operators map). */
const MANIFEST = '$committed-files';

interface Manifest {
  /** The epoch this checkpoint closed: its records were in the epoch's pending files. */
  readonly epoch: number;
}

interface File {
  readonly path: string;
  readonly mode: 'overwrite' | 'append';
  /** The writes of the open epoch, in order. */
  chain: Promise<void>;
}

/** Who publishes, and this writer's number when several stream threads write the same files. */
export interface CommittedFilesOptions {
  readonly publisher: Publisher;
  readonly writer?: number | undefined;
}

/**
 * Exactly-once output files for embedded runs: records are written to a pending file of the
 * current epoch (`<path>.pending-<n>`), and a checkpoint publishes them: it closes the epoch,
 * records it in the checkpoint, saves the checkpoint, then has the publisher append the pending
 * file to the named file (see FilePublisher). The named file therefore only ever holds output
 * of completed checkpoints. On start, the newest checkpoint's epoch tells the publisher what to
 * finish (a publish cut short by a crash), what to take back (epochs a damaged newest checkpoint
 * no longer covers) and which pending files to delete (epochs no checkpoint completed).
 *
 * @example
 * const files = new CommittedFiles({ publisher: new FilePublisher({ directory: '.sluice/job/checkpoints' }) });
 * const sink = files.sink<Decision>({ path: 'out/decisions.jsonl' });
 * const store = files.store(new FileCheckpointStore({ directory: '.sluice/job/checkpoints' }));
 */
export class CommittedFiles {
  readonly #files = new Map<string, File>();
  readonly #publisher: Publisher;
  readonly #writer: number | undefined;
  #epoch = 0;

  constructor(options: CommittedFilesOptions) {
    this.#publisher = options.publisher;
    this.#writer = options.writer;
  }

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
        const pending = pendingPath(file.path, this.#writer, this.#epoch);
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
    // Only files the epoch wrote to have something to publish (with threads, each is a message to the main thread).
    const written: File[] = [];
    for (const file of this.#files.values()) {
      await file.chain;
      if (await syncIfPresent(pendingPath(file.path, this.#writer, epoch))) written.push(file);
    }
    const manifest: Manifest = { epoch };
    const checkpoint = await inner.save({ ...input, operators: { ...input.operators, [MANIFEST]: manifest } });
    for (const file of written) await this.#publisher.run({ op: 'publish', path: file.path, writer: this.#writer, epoch });
    return withoutManifest(checkpoint);
  }

  async #recover(inner: CheckpointStore): Promise<Checkpoint | undefined> {
    const checkpoint = await inner.latest();
    const manifest = checkpoint?.operators[MANIFEST] as Manifest | undefined;
    for (const file of this.#files.values()) {
      if (manifest === undefined && file.mode === 'overwrite') await this.#publisher.run({ op: 'startAfresh', path: file.path });
      await this.#publisher.run({ op: 'recover', path: file.path, writer: this.#writer, epoch: manifest?.epoch });
    }
    this.#epoch = manifest === undefined ? 0 : manifest.epoch + 1;
    return checkpoint === undefined ? undefined : withoutManifest(checkpoint);
  }
}

/** Makes an epoch's pending file durable before its checkpoint names it; false when there is none (the epoch wrote nothing). */
async function syncIfPresent(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r+');
  } catch {
    return false;
  }
  try {
    await handle.sync();
    return true;
  } finally {
    await handle.close();
  }
}

function withoutManifest(checkpoint: Checkpoint): Checkpoint {
  const { [MANIFEST]: _manifest, ...operators } = checkpoint.operators;
  return { ...checkpoint, operators };
}
