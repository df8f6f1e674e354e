import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { syncDirectory } from '../core/checkpoint/fileCheckpointStore.ts';

/**
 * What CommittedFiles asks of the one writer of its named files. Plain data, so that a stream
 * thread can send it to the main thread, which publishes for all of them.
 */
export type PublishRequest =
  /** `writer`'s checkpoint of `epoch` is saved: append its pending file of that epoch to `path`. */
  | { readonly op: 'publish'; readonly path: string; readonly writer: number | undefined; readonly epoch: number }
  /**
   * `writer` starts from its checkpoint of `epoch` (undefined: from none): take back what it
   * published of later epochs, publish its pending files up to `epoch`, delete the later ones.
   */
  | { readonly op: 'recover'; readonly path: string; readonly writer: number | undefined; readonly epoch: number | undefined }
  /** No checkpoint to resume from, in overwrite mode: the file starts empty. */
  | { readonly op: 'startAfresh'; readonly path: string };

/** Carries out PublishRequests: a FilePublisher, or a stream thread's way to the main thread's. */
export interface Publisher {
  run(request: PublishRequest): Promise<void>;
}

/**
 * The pending file of one writer's epoch: `out.jsonl.pending-7`, or `out.jsonl.pending-t1-7`
 * when stream thread 1 writes it.
 *
 * @example
 * pendingPath('out/decisions.jsonl', undefined, 7) // "out/decisions.jsonl.pending-7"
 */
export function pendingPath(path: string, writer: number | undefined, epoch: number): string {
  return `${pendingPrefix(path, writer)}${epoch}`;
}

/** A writer's pending files are this followed by their epoch. */
function pendingPrefix(path: string, writer: number | undefined): string {
  return `${path}.pending-${writer === undefined ? '' : `t${writer}-`}`;
}

/** One publish, as the log keeps it: where one writer's epoch landed in the named file. */
interface Entry {
  readonly writer: number | null;
  readonly epoch: number;
  readonly start: number;
  readonly end: number;
}

interface PublishedFile {
  /** The requests for this file, one at a time. */
  chain: Promise<void>;
  /** Its log, once read; undefined again after a failed request, so the next one repairs from disk. */
  entries: Entry[] | undefined;
}

/**
 * Entries kept per writer. A recovery takes back only epochs after the writer's newest intact
 * checkpoint, which is one of the last few it saved (FileCheckpointStore keeps 3).
 */
const KEEP_PER_WRITER = 16;

/**
 * The one writer of exactly-once output files: it appends each writer's committed epoch to the
 * named file, one at a time, so that several stream threads can share one file. Before each
 * append it logs (durably, next to the checkpoints) where that epoch will land; the pending
 * file is deleted only once the append is durable. On start, the log repairs a publish that a
 * crash cut short (only the last one can be), and lets a writer take back epochs that its
 * checkpoints no longer cover (a damaged newest checkpoint falls back to an older one).
 *
 * @example
 * const publisher = new FilePublisher({ directory: '.sluice/fraud/checkpoints' });
 * await publisher.run({ op: 'recover', path: 'out/decisions.jsonl', writer: undefined, epoch: 6 });
 * await publisher.run({ op: 'publish', path: 'out/decisions.jsonl', writer: undefined, epoch: 7 });
 */
export class FilePublisher implements Publisher {
  readonly #directory: string;
  readonly #files = new Map<string, PublishedFile>();

  /** `directory`: the checkpoint directory; the logs go in its `published` folder. */
  constructor(options: { directory: string }) {
    this.#directory = join(options.directory, 'published');
  }

  run(request: PublishRequest): Promise<void> {
    let file = this.#files.get(request.path);
    if (file === undefined) this.#files.set(request.path, (file = { chain: Promise.resolve(), entries: undefined }));
    const state = file;
    const done = state.chain.then(async () => {
      try {
        if (request.op === 'startAfresh') {
          state.entries = await this.#startAfresh(request.path);
          return;
        }
        state.entries ??= await this.#load(request.path);
        if (request.op === 'publish') await this.#publish(state.entries, request.path, request.writer, request.epoch);
        else state.entries = await this.#recover(state.entries, request.path, request.writer, request.epoch);
      } catch (error) {
        state.entries = undefined;
        throw error;
      }
    });
    state.chain = done.catch(() => {});
    return done;
  }

  #log(path: string): string {
    return join(this.#directory, `${basename(path)}-${createHash('sha256').update(resolve(path)).digest('hex').slice(0, 12)}.log`);
  }

  /** Reads the file's log and repairs what a crash left: a rewrite half done, a publish cut short. */
  async #load(path: string): Promise<Entry[]> {
    const log = this.#log(path);
    await mkdir(this.#directory, { recursive: true });
    // #takeBack writes both replacements, then renames the file, then the log.
    if ((await sizeOf(`${path}.rewrite`)) !== undefined) {
      await rm(`${path}.rewrite`, { force: true });
      await rm(`${log}.rewrite`, { force: true });
    } else if ((await sizeOf(`${log}.rewrite`)) !== undefined) {
      await rename(`${log}.rewrite`, log);
    }
    const text = await readFile(log, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
    const lines = text.split('\n').filter(Boolean);
    const entries = lines.flatMap((line) => parseEntry(line));
    // A line torn by a crash was never fsynced, so its publish never began.
    let changed = entries.length !== lines.length;
    const last = entries.at(-1);
    if (last !== undefined && (await sizeOf(pendingPath(path, last.writer ?? undefined, last.epoch))) !== undefined) {
      // Its pending file is still there: the append may be partial. Undo it; the writer's recovery publishes it again.
      if (((await sizeOf(path)) ?? 0) > last.start) await truncate(path, last.start);
      entries.pop();
      changed = true;
    }
    if (changed) await writeAtomically(log, entries);
    return entries;
  }

  async #publish(entries: Entry[], path: string, writer: number | undefined, epoch: number): Promise<void> {
    const pending = pendingPath(path, writer, epoch);
    const size = await sizeOf(pending);
    // Published already (a restarted thread asks again), or the epoch wrote nothing.
    if (size === undefined) return;
    const start = (await sizeOf(path)) ?? 0;
    const entry: Entry = { writer: writer ?? null, epoch, start, end: start + size };
    await writeDurably(this.#log(path), `${JSON.stringify(entry)}\n`, 'a');
    const target = await open(path, 'a');
    try {
      const source = await open(pending, 'r');
      try {
        await copyRange(source, target, 0, size);
      } finally {
        await source.close();
      }
      await target.sync();
    } finally {
      await target.close();
    }
    await rm(pending, { force: true });
    entries.push(entry);
    const writers = new Set(entries.map((each) => each.writer)).size;
    if (entries.length > 2 * KEEP_PER_WRITER * writers) await this.#prune(path, entries);
  }

  async #recover(entries: Entry[], path: string, writer: number | undefined, epoch: number | undefined): Promise<Entry[]> {
    const mine = writer ?? null;
    const later = entries.filter((entry) => entry.writer === mine && (epoch === undefined || entry.epoch > epoch));
    const kept = later.length === 0 ? entries : await this.#takeBack(path, entries, new Set(later));
    const prefix = basename(pendingPrefix(path, writer));
    const epochs = (await readdir(dirname(path)).catch(() => []))
      .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
      .map((name) => Number(name.slice(prefix.length)))
      .sort((a, b) => a - b);
    for (const pending of epochs) {
      if (epoch !== undefined && pending <= epoch) await this.#publish(kept, path, writer, pending);
      else await rm(pendingPath(path, writer, pending), { force: true });
    }
    return kept;
  }

  /** Rewrites the file without the `cut` publishes (rare: a damaged newest checkpoint), then the log. */
  async #takeBack(path: string, entries: readonly Entry[], cut: ReadonlySet<Entry>): Promise<Entry[]> {
    const log = this.#log(path);
    const kept: Entry[] = [];
    const source = await open(path, 'r');
    const target = await open(`${path}.rewrite`, 'w');
    try {
      let position = 0;
      let removed = 0;
      for (const entry of entries) {
        if (!cut.has(entry)) {
          kept.push({ ...entry, start: entry.start - removed, end: entry.end - removed });
          continue;
        }
        await copyRange(source, target, position, entry.start);
        position = entry.end;
        removed += entry.end - entry.start;
      }
      await copyRange(source, target, position, (await source.stat()).size);
      await target.sync();
    } finally {
      await source.close();
      await target.close();
    }
    await writeDurably(`${log}.rewrite`, entriesText(kept));
    await rename(`${path}.rewrite`, path);
    await syncDirectory(dirname(path));
    await rename(`${log}.rewrite`, log);
    await syncDirectory(this.#directory);
    return kept;
  }

  async #prune(path: string, entries: Entry[]): Promise<void> {
    const seen = new Map<number | null, number>();
    const kept: Entry[] = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      const count = seen.get(entry.writer) ?? 0;
      if (count < KEEP_PER_WRITER) kept.unshift(entry);
      seen.set(entry.writer, count + 1);
    }
    await writeAtomically(this.#log(path), kept);
    entries.splice(0, entries.length, ...kept);
  }

  async #startAfresh(path: string): Promise<Entry[]> {
    await mkdir(this.#directory, { recursive: true });
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, '');
    await rm(this.#log(path), { force: true });
    // Every writer's: `pending-7` and `pending-t1-7` alike.
    const prefix = basename(pendingPrefix(path, undefined));
    for (const name of await readdir(dirname(path))) if (name.startsWith(prefix)) await rm(join(dirname(path), name), { force: true });
    return [];
  }
}

function parseEntry(line: string): Entry[] {
  try {
    const entry = JSON.parse(line) as Entry;
    return Number.isInteger(entry.epoch) && Number.isInteger(entry.start) && Number.isInteger(entry.end) ? [entry] : [];
  } catch {
    return [];
  }
}

function entriesText(entries: readonly Entry[]): string {
  return entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
}

/** Copies bytes [from, to) of `source` to the end of `target`. */
async function copyRange(source: FileHandle, target: FileHandle, from: number, to: number): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(1, to - from)));
  for (let position = from; position < to; ) {
    const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, to - position), position);
    if (bytesRead === 0) throw new Error(`${position} bytes of ${to} could be read while publishing`);
    await target.write(buffer, 0, bytesRead);
    position += bytesRead;
  }
}

/** Writes (`w`) or appends (`a`) `text` and fsyncs it. */
async function writeDurably(path: string, text: string, flags: 'w' | 'a' = 'w'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.write(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAtomically(path: string, entries: readonly Entry[]): Promise<void> {
  await writeDurably(`${path}.tmp`, entriesText(entries));
  await rename(`${path}.tmp`, path);
  await syncDirectory(dirname(path));
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}
