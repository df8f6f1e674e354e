import type { OperatorFunction } from 'rxjs';
import { onlineStore, type OnlineStore, type OnlineStoreOptions } from '../connectors/redis/onlineStore.ts';
import { FeatureStoreError, ServedLog, servedLogPath, type FeatureRow, type FeatureViewInfo } from '../core/features/index.ts';
import type { Envelope } from '../core/record.ts';
import type { MicroBatchOptions } from './microBatch.ts';
import { batchedStage } from './internal/featureBatches.ts';
import type { StageOptions } from './internal/operate.ts';

/** Options of {@link materializeFeatures}. */
export interface MaterializeFeaturesOptions<T> {
  /** The online store, `redis://host:port`; undefined: no online store (the operator passes records on). */
  readonly redis?: string | undefined;
  /** The feature row of a value; `value.row` by default. */
  readonly row?: (value: T) => FeatureRow;
  /**
   * Share of rows (0..1) logged to `.sluice/<job>/served-features.jsonl` for `sluice features
   * check`; 0 or undefined: no log.
   */
  readonly servedSample?: number | undefined;
  /** Where the served-rows log goes instead of the default path. */
  readonly servedLog?: string;
  /** Connection, timeout and buffer settings of the store (see connectors/redis). */
  readonly store?: Omit<OnlineStoreOptions, 'url' | 'clock'>;
  /** How records are cut into write batches. Default: adaptive micro-batches of at most 512. */
  readonly batch?: MicroBatchOptions;
}

/** What a checkpoint keeps of the operator: rows buffered for Redis and not yet written. */
interface Snapshot {
  pending: FeatureRow[];
}

function rowOf<T>(value: T): FeatureRow {
  const row = (value as { row?: FeatureRow } | null)?.row;
  if (row === undefined) throw new FeatureStoreError('materializeFeatures(): the value has no `row`: pass { row: (value) => featureRow } in the options');
  return row;
}

/**
 * Writes each record's feature row to the online store (Redis): one pipelined write per
 * micro-batch, newest row per entity. At-least-once: a record is passed on only after its row is
 * written or, while Redis is down, held in the store's outage buffer (newest row per entity,
 * bounded, retried with backoff, carried by checkpoints), so Redis being down never stops the job
 * and the store catches up when it returns. Opens the connection when the job starts (a URL that
 * cannot be reached then stops the start with one line) and closes it when the stream ends. With
 * no `redis` it passes records through (embedded runs need no Redis); with `servedSample` it logs
 * a sample of the rows for the skew check.
 *
 * @example
 * transactions.pipe(userFeatures(), materializeFeatures(fraudFeatures, { redis: settings.redis }), infer({ ... }))
 */
export function materializeFeatures<T>(view: FeatureViewInfo, options: MaterializeFeaturesOptions<T> = {}, stageOptions?: StageOptions): OperatorFunction<Envelope<T>, Envelope<T>> {
  const sample = options.servedSample ?? 0;
  if (!(sample >= 0 && sample <= 1)) throw new FeatureStoreError(`materializeFeatures(): servedSample must be a share in [0, 1] (got ${sample})`);
  const row = options.row ?? rowOf;
  return batchedStage<T, T>('materializeFeatures', stageOptions?.stage ?? 'materialize', options.batch ?? {}, (ctx, stage) => {
    const log = sample > 0 ? new ServedLog(options.servedLog ?? servedLogPath(ctx?.jobName ?? 'job'), sample) : undefined;
    const url = options.redis === '' ? undefined : options.redis;
    let store: OnlineStore | undefined;
    let restored: FeatureRow[] = [];
    const opening: Promise<OnlineStore> | undefined = url === undefined ? undefined : onlineStore({ ...options.store, url, ...(ctx === undefined ? {} : { clock: ctx.clock }) });
    opening?.catch(() => undefined); // reported by the first batch, not as an unhandled rejection
    const instrumentation = ctx?.instrumentation;
    let failedBatches = 0;
    // Rows buffered for an unreachable Redis are part of the checkpoint, so a restart still writes them.
    ctx?.checkpointed(stage, {
      snapshot: (): Snapshot => ({ pending: store?.pendingRows() ?? restored }),
      restore: (snapshot) => {
        restored = [...((snapshot as Snapshot | undefined)?.pending ?? [])];
      },
    });
    const report = (rows: number, written: boolean) => {
      if (store === undefined || instrumentation === undefined) return;
      const stats = store.stats().materialize;
      instrumentation.emit('features.materialized', { stage, view: view.name, rows, written, pending: stats.pending });
      if (stats.failedBatches > failedBatches) instrumentation.emit('features.storeError', { stage, view: view.name, operation: 'materialize', count: stats.failedBatches - failedBatches });
      failedBatches = stats.failedBatches;
    };
    return {
      async batch(records) {
        const rows = records.map((record) => row(record.value));
        log?.log(rows);
        if (opening !== undefined) {
          store ??= await opening;
          if (restored.length > 0) rows.unshift(...restored.splice(0));
          report(rows.length, await store.materialize(rows));
        }
        return records as Envelope<T>[];
      },
      async end() {
        await log?.close();
        if (opening === undefined) return;
        const open = await opening;
        if (restored.length > 0) await open.materialize(restored.splice(0));
        // One last try for rows held during an outage; the store disconnects either way.
        await open.close();
        store = open;
        report(0, open.stats().materialize.pending === 0);
      },
      abort() {
        void log?.close();
        void opening?.then((open) => open.close()).catch(() => undefined);
      },
    };
  });
}
