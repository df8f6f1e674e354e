import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Sink } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';

export interface JsonlFileSinkOptions<T> {
  path: string;
  /** Writes only the values that pass (the others still count as delivered). */
  filter?: (value: T) => boolean;
  /** What to write per record; the value itself by default. */
  format?: (record: Envelope<T>) => unknown;
  /** `overwrite` starts the file afresh (the default); `append` adds to what an earlier run wrote. */
  mode?: 'overwrite' | 'append';
}

/**
 * Writes each record as one JSON line, to a new file or appended to an existing one. A write
 * counts as done once the file stream accepted the bytes (flushed to the OS on close).
 *
 * @example
 * jsonlFileSink({ path: 'out/flagged.jsonl', filter: (d: Decision) => d.flagged, mode: 'append' })
 */
export function jsonlFileSink<T>(options: JsonlFileSinkOptions<T>): Sink<T> & { readonly path: string; readonly mode: 'overwrite' | 'append' } {
  const mode = options.mode ?? 'overwrite';
  let stream: WriteStream | undefined;
  const open = () => {
    if (stream === undefined) {
      mkdirSync(dirname(options.path), { recursive: true });
      stream = createWriteStream(options.path, { flags: mode === 'append' ? 'a' : 'w' });
    }
    return stream;
  };
  const format = options.format ?? ((record: Envelope<T>) => record.value);
  return {
    name: `file:${options.path}`,
    path: options.path,
    mode,
    async write(records) {
      let text = '';
      for (const record of records) {
        if (options.filter === undefined || options.filter(record.value)) text += JSON.stringify(format(record)) + '\n';
      }
      if (text === '') return;
      const out = open();
      if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
    },
    async close() {
      const out = stream;
      stream = undefined;
      if (out !== undefined) await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    },
  };
}
