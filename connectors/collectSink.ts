import type { Sink } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';

/** A sink that keeps what it receives in memory. */
export interface CollectSink<T> extends Sink<T> {
  readonly records: Envelope<T>[];
  readonly values: T[];
  /** Writes seen so far (each holds one or more records). */
  readonly writes: number;
}

/**
 * Keeps every record in memory, optionally taking `delayMs` per write (a slow sink): for tests,
 * notebooks and small jobs.
 *
 * @example
 * const sink = collectSink<Decision>({ delayMs: 5 });
 * // ... run the job, then:
 * sink.values.length;
 */
export function collectSink<T>(options: { delayMs?: number } = {}): CollectSink<T> {
  const records: Envelope<T>[] = [];
  const values: T[] = [];
  let writes = 0;
  return {
    name: 'collect',
    records,
    values,
    get writes() {
      return writes;
    },
    async write(batch) {
      if (options.delayMs !== undefined && options.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      writes += 1;
      for (const record of batch) {
        records.push(record);
        values.push(record.value);
      }
    },
  };
}
