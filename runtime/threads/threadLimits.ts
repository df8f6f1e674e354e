import type { Source } from '../../core/job.ts';
import { limitSources, type BacklogEnd, type LimitLedger } from '../runLimits.ts';
import type { LimitMessage } from './protocol.ts';

/**
 * `--max-records` and `--until-caught-up` as the stream threads share them (structured-clone
 * data, in each thread's `workerData`): one count of records taken in shared memory, so the run
 * takes exactly N records whichever threads take them, and the backlog's end per partition.
 */
export interface ThreadLimits {
  readonly maxRecords?: number | undefined;
  /** The records taken by every thread so far: one BigInt64 slot, counted with Atomics. */
  readonly taken?: SharedArrayBuffer | undefined;
  /** Per partition (`topic\0partition`), the offset of the backlog's last record. */
  readonly backlog?: ReadonlyArray<readonly [string, number]> | undefined;
}

/**
 * The limits a run of stream threads shares, or undefined when it has none.
 *
 * @example
 * const limits = threadLimits({ maxRecords: 10_000 }); // hand to every thread
 */
export function threadLimits(limits: { maxRecords?: number | undefined; backlog?: BacklogEnd | undefined }): ThreadLimits | undefined {
  if (limits.maxRecords === undefined && limits.backlog === undefined) return undefined;
  return {
    maxRecords: limits.maxRecords,
    taken: limits.maxRecords === undefined ? undefined : new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT),
    backlog: limits.backlog === undefined ? undefined : [...limits.backlog],
  };
}

/**
 * One thread's ledger of the shared limits (see runLimits.ts' limitSources): a record is taken
 * only while the shared count is under `maxRecords` (compare-and-swap, so no two threads take the
 * same last slot). Whether the backlog is read is the main thread's to say: a thread only tells
 * `onCaughtUp` once per partition it read to the end.
 *
 * @example
 * const sources = limitSources(mine, { maxRecords, backlog }, () => post({ type: 'limit' }), threadLedger(data.limits, (p) => post({ type: 'caughtUp', partition: p })));
 */
export function threadLedger(limits: ThreadLimits, onCaughtUp: (partition: string) => void): LimitLedger {
  const { maxRecords, taken } = limits;
  const count = taken === undefined ? undefined : new BigInt64Array(taken);
  const max = maxRecords === undefined ? undefined : BigInt(maxRecords);
  const told = new Set<string>();
  return {
    take: () => {
      if (count === undefined || max === undefined) return 'taken';
      for (;;) {
        const now = Atomics.load(count, 0);
        if (now >= max) return 'over';
        if (Atomics.compareExchange(count, 0, now, now + 1n) === now) return now + 1n >= max ? 'last' : 'taken';
      }
    },
    caughtUp: (partition) => {
      if (!told.has(partition)) {
        told.add(partition);
        onCaughtUp(partition);
      }
      return false;
    },
    nothingToRead: false,
  };
}

/**
 * A stream thread's sources within the limits the threads share: its records count against the
 * one count of all threads, and `tell` says when it took the run's last record or read a
 * partition to its backlog end; the main thread ends the run. No limits: the sources unchanged.
 *
 * @example
 * const limited = limitThreadSources(sources, data.limits, (message) => port.postMessage(message));
 */
export function limitThreadSources(sources: Record<string, Source<unknown>>, limits: ThreadLimits | undefined, tell: (message: LimitMessage) => void): Record<string, Source<unknown>> {
  if (limits === undefined) return sources;
  const backlog = limits.backlog === undefined ? undefined : new Map(limits.backlog);
  return limitSources(sources, { maxRecords: limits.maxRecords, backlog }, () => tell({ type: 'limit' }), threadLedger(limits, (partition) => tell({ type: 'caughtUp', partition })));
}

/**
 * The main thread's side of `--until-caught-up` with stream threads: the partitions of the
 * backlog no thread has read to the end yet; `onCaughtUp` runs once every one has (at once when
 * there was no backlog).
 *
 * @example
 * const watch = new BacklogWatch(backlog, () => threads.stop(options.drain));
 * // on each thread's { type: 'caughtUp', partition } message:
 * watch.reached(message.partition);
 */
export class BacklogWatch {
  readonly #remaining: Set<string>;
  readonly #onCaughtUp: () => void;
  #done = false;

  constructor(backlog: BacklogEnd, onCaughtUp: () => void) {
    this.#remaining = new Set(backlog.keys());
    this.#onCaughtUp = onCaughtUp;
    if (this.#remaining.size === 0) queueMicrotask(() => this.#end());
  }

  /** A thread read `partition` to its backlog end. */
  reached(partition: string): void {
    this.#remaining.delete(partition);
    if (this.#remaining.size === 0) this.#end();
  }

  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#onCaughtUp();
  }
}
