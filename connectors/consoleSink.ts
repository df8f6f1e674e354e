import type { Sink } from '../core/job.ts';

/**
 * Prints each value as a JSON line on stdout: for trying a job out.
 *
 * @example
 * sink: () => consoleSink({ filter: (d: Decision) => d.flagged })
 */
export function consoleSink<T>(options: { filter?: (value: T) => boolean } = {}): Sink<T> {
  return {
    name: 'console',
    async write(records) {
      let text = '';
      for (const record of records) if (options.filter === undefined || options.filter(record.value)) text += JSON.stringify(record.value) + '\n';
      if (text !== '' && !process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
    },
  };
}
