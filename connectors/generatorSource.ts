import { requireNonNegativeNumber, requirePositiveInteger } from '../core/errors.ts';
import type { Source, SourceContext } from '../core/job.ts';

export interface GeneratorSourceOptions<T> {
  /** Appears as the topic of every record's position. */
  name?: string;
  /** Records to produce; Infinity runs until stopped. */
  count: number;
  /** Produces the i-th value. */
  make: (index: number) => T;
  /** The record key (also picks the partition, so keyed state is partitioned as on Kafka). */
  key?: (value: T) => string;
  /** Event time of a value; defaults to the wall clock. */
  timestamp?: (value: T) => number;
  /** Records per second; unlimited when absent. */
  ratePerSecond?: number;
  /** Partitions to spread keys over, like a topic's. */
  partitions?: number;
}

/**
 * An embedded source that makes records with a function: synthetic streams for demos, tests and
 * benchmarks. It honours the in-flight budget like any source and stops when asked.
 *
 * @example
 * generatorSource({ count: 1000, make: (i) => ({ id: i }), key: (v) => String(v.id % 10) })
 */
export function generatorSource<T>(options: GeneratorSourceOptions<T>): Source<T> {
  const name = options.name ?? 'generator';
  const partitions = requirePositiveInteger('partitions', options.partitions ?? 1);
  if (options.count !== Infinity) requireNonNegativeNumber('count', options.count);
  const rate = options.ratePerSecond === undefined ? undefined : requirePositiveInteger('ratePerSecond', options.ratePerSecond);
  return {
    name,
    async run(ctx: SourceContext<T>): Promise<void> {
      const offsets = new Array<number>(partitions).fill(0);
      const started = performance.now();
      let sinceYield = 0;
      for (let index = 0; index < options.count; index += 1) {
        if (ctx.signal.aborted) return;
        const value = options.make(index);
        const key = options.key?.(value);
        const partition = key === undefined || partitions === 1 ? 0 : hashPartition(key, partitions);
        const offset = offsets[partition]!;
        offsets[partition] = offset + 1;
        const wait = ctx.emit({ key, value, timestamp: options.timestamp?.(value), position: { topic: name, partition, offset } });
        if (wait !== undefined) {
          await wait;
          sinceYield = 0;
        } else if (++sinceYield >= 512) {
          // Let timers (batch waits, progress) and I/O run between bursts.
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        if (rate !== undefined) {
          const due = started + ((index + 1) * 1000) / rate;
          const ahead = due - performance.now();
          if (ahead > 1) await new Promise<void>((resolve) => setTimeout(resolve, ahead));
        }
      }
    },
  };
}

/** The partition of a key: a stable string hash (FNV-1a), modulo the partition count. */
export function hashPartition(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
