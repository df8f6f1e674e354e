import type { Source } from '../../core/job.ts';
import type { SourceRecord } from '../../core/record.ts';
import { hashPartition } from '../../connectors/generatorSource.ts';

/** Which stream thread this is, of how many. */
export interface ThreadSlot {
  readonly index: number;
  readonly count: number;
}

/**
 * The stream thread a record of an embedded source belongs to: by its key's hash (the same
 * FNV-1a the generator partitions by, so a generator partition stays whole when the thread
 * count divides the partition count). One key, one thread: per-key order and keyed state hold
 * however many threads run. A record without a source key goes to the first thread: the
 * pipeline may still `keyBy` it, and the same key in two threads would split its state.
 *
 * @example
 * ownerOf({ key: 'u1', position: { topic: 'tx', partition: 0, offset: 7 } }, 2) // 0 or 1, always the same for 'u1'
 */
export function ownerOf(record: Pick<SourceRecord<unknown>, 'key' | 'position'>, count: number): number {
  if (count === 1 || record.key === undefined) return 0;
  return hashPartition(record.key, count);
}

/**
 * An embedded source (generator, JSONL file) as one stream thread sees it: every thread reads
 * the whole source and keeps the records it owns (see {@link ownerOf}); an undecodable line
 * (no key) goes to the thread its offset picks, so each is dead-lettered once.
 *
 * @example
 * const mine = threadShare(generatorSource({ ... }), { index: 1, count: 2 });
 */
export function threadShare<T>(source: Source<T>, slot: ThreadSlot): Source<T> {
  const { index, count } = slot;
  return {
    name: source.name,
    run: (ctx) =>
      source.run({
        ...ctx,
        emit: (record) => (ownerOf(record, count) === index ? ctx.emit(record) : undefined),
        deadLetter: (record, reason) => (record.position.offset % count === index ? ctx.deadLetter(record, reason) : undefined),
      }),
    ...(source.close === undefined ? {} : { close: () => source.close!() }),
  };
}

/**
 * A source that tells `onFirst` the wall-clock time of its first record: the threads' active
 * spans are merged in wall-clock time, since each thread's `performance.now()` has its own origin.
 *
 * @example
 * const watched = watchFirst(source, (at) => (firstInAt ??= at));
 */
export function watchFirst<T>(source: Source<T>, onFirst: (epochMs: number) => void): Source<T> {
  return {
    name: source.name,
    run: (ctx) => {
      let seen = false;
      const first = () => {
        if (seen) return;
        seen = true;
        onFirst(performance.timeOrigin + performance.now());
      };
      return source.run({
        ...ctx,
        emit: (record) => {
          first();
          return ctx.emit(record);
        },
        deadLetter: (record, reason) => {
          first();
          return ctx.deadLetter(record, reason);
        },
      });
    },
    ...(source.close === undefined ? {} : { close: () => source.close!() }),
  };
}
