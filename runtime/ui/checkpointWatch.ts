import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointOptions } from '../../core/checkpoint/coordinator.ts';
import type { CheckpointInput, CheckpointStore } from '../../core/checkpoint/checkpoint.ts';
import { checkpointName, FileCheckpointStore } from '../../core/checkpoint/fileCheckpointStore.ts';
import type { PartitionCheckpoint, PartitionCheckpointStore } from '../../core/checkpoint/partitionStore.ts';
import { describeError } from '../../core/errors.ts';
import type { CheckpointView } from './api.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Watches a job's checkpoints from outside the engine: it wraps the store the run hands to
 * the coordinator and times each save, counts failures, and measures the size: the file's
 * bytes for checkpoints on disk, the state entries written for a changelog topic (a Kafka
 * store writes one record per changed entry). The coordinator still sees a store of the same
 * kind, so it checkpoints exactly as it would without the dashboard.
 *
 * @example
 * const watch = new CheckpointWatch();
 * runJob(job, { ...options, checkpoints: watch.wrap(checkpoints) });
 * watch.view().last?.durationMs
 */
export class CheckpointWatch {
  readonly #view: Mutable<CheckpointView> = { enabled: false, taken: 0, failures: 0, last: undefined, lastFailure: undefined };

  /** The same options with the store timed; undefined stays undefined. */
  wrap(options: CheckpointOptions | undefined): CheckpointOptions | undefined {
    if (options === undefined) return undefined;
    this.#view.enabled = true;
    return { ...options, store: this.#wrapStore(options.store) };
  }

  view(): CheckpointView {
    return { ...this.#view };
  }

  #wrapStore(store: CheckpointStore | PartitionCheckpointStore): CheckpointStore | PartitionCheckpointStore {
    if ('load' in store) {
      const wrapped: PartitionCheckpointStore = {
        save: (partitions: readonly PartitionCheckpoint[]) =>
          this.#timed(
            () => store.save(partitions),
            () => ({ bytes: undefined, entries: partitions.reduce((n, p) => n + p.state.length, 0), partitions: partitions.length }),
          ),
        load: (partitions) => store.load(partitions),
      };
      if (store.close !== undefined) wrapped.close = () => store.close!();
      return wrapped;
    }
    return {
      save: (input: CheckpointInput) =>
        this.#timed(
          () => store.save(input),
          async (checkpoint) => ({
            bytes: store instanceof FileCheckpointStore ? await fileSize(join(store.directory, checkpointName(checkpoint.id))) : undefined,
            entries: Object.values(input.state).reduce((n, rows) => n + rows.length, 0),
            partitions: input.positions.length,
          }),
        ),
      latest: () => store.latest(),
    };
  }

  async #timed<T>(save: () => Promise<T>, size: (result: T) => Promise<SizeOf> | SizeOf): Promise<T> {
    const started = performance.now();
    let result: T;
    try {
      result = await save();
    } catch (error) {
      this.#view.failures += 1;
      this.#view.lastFailure = { at: Date.now(), error: describeError(error).split('\n')[0]! };
      throw error;
    }
    const durationMs = performance.now() - started;
    this.#view.taken += 1;
    const at = Date.now();
    // Sized after the fact, so the coordinator is not kept waiting for a stat().
    void Promise.resolve()
      .then(() => size(result))
      .then(
        (sized) => (this.#view.last = { at, durationMs, ...sized }),
        () => (this.#view.last = { at, durationMs, bytes: undefined, entries: undefined, partitions: 0 }),
      );
    return result;
  }
}

interface SizeOf {
  bytes: number | undefined;
  entries: number | undefined;
  partitions: number;
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    // Pruned already, or on a file system that lost it: the size is simply unknown.
    return undefined;
  }
}
