import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { ConnectorError, describeError } from '../core/errors.ts';
import type { Source, SourceContext } from '../core/job.ts';

export interface JsonlFileSourceOptions<T> {
  path: string;
  /** Turns a line into a value; a throw sends the line to the dead-letter sink with the message. */
  decode: (line: string) => T;
  key?: (value: T) => string;
  timestamp?: (value: T) => number;
}

/**
 * Reads a file of JSON lines. Each line is a record whose offset is its line number; a line
 * that does not decode goes to the dead-letter sink with its original bytes.
 *
 * @example
 * jsonlFileSource({ path: 'transactions.jsonl', decode: jsonDecoder(parseTransaction), key: (tx) => tx.userId })
 */
export function jsonlFileSource<T>(options: JsonlFileSourceOptions<T>): Source<T> {
  const topic = basename(options.path);
  return {
    name: `file:${topic}`,
    async run(ctx: SourceContext<T>): Promise<void> {
      try {
        await access(options.path);
      } catch {
        throw new ConnectorError(`input file not found: ${options.path}`);
      }
      const lines = createInterface({ input: createReadStream(options.path), crlfDelay: Infinity });
      let offset = -1;
      for await (const line of lines) {
        offset += 1;
        if (ctx.signal.aborted) break;
        if (line.trim() === '') continue;
        const position = { topic, partition: 0, offset };
        let value: T;
        try {
          value = options.decode(line);
        } catch (error) {
          const wait = ctx.deadLetter({ value: line, position, original: Buffer.from(line) }, describeError(error));
          if (wait !== undefined) await wait;
          continue;
        }
        const wait = ctx.emit({ key: options.key?.(value), value, timestamp: options.timestamp?.(value), position, original: Buffer.from(line) });
        if (wait !== undefined) await wait;
      }
      lines.close();
    },
  };
}
