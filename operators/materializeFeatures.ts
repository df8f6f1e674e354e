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
  /**
   * When a record is passed on: `buffered` (default) once its row is in the store's write buffer —
   * newest row per entity, written in the background, carried by checkpoints, so the job does not
   * wait for Redis round trips and batches arriving during a write coalesce into the next one;
   * `written` only once Redis confirmed the write (or, while Redis is down, the row is buffered).
   */
  readonly ack?: 'buffered' | 'written';
  /**
   * With `ack: 'buffered'`: rows gather in the buffer (newest per entity) for up to this long
   * before one write (an MSET per 500 rows), so a busy entity costs one write per interval, not one per event.
   * Redis lags the job by at most about this much. Default 1000 ms; 0 writes every micro-batch.
   */
  readonly writeIntervalMs?: number;
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
 * Writes each record's feature row to the online store (Redis): at most one write per
 * micro-batch, newest row per entity. At-least-once: a record is passed on only after its row is
 * in the store's write buffer (`ack: 'buffered'`, the default) or confirmed by Redis
 * (`ack: 'written'`); the buffer (newest row per entity, bounded, retried with backoff) is part
 * of every checkpoint, so a row is written or carried over a restart, Redis being down never
 * stops the job, and the store catches up when it returns. Opens the connection when the job starts (a URL that
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
  const ack = options.ack ?? 'buffered';
  const interval = options.writeIntervalMs ?? 1000;
  if (!(Number.isFinite(interval) && interval >= 0)) throw new FeatureStoreError(`materializeFeatures(): writeIntervalMs must be a number of ms >= 0 (got ${interval})`);
  if (ack !== 'buffered' && ack !== 'written') throw new FeatureStoreError(`materializeFeatures(): ack must be 'buffered' or 'written' (got ${String(ack)})`);
  return batchedStage<T, T>('materializeFeatures', stageOptions?.stage ?? 'materialize', options.batch ?? {}, (ctx, stage) => {
    const log = sample > 0 ? new ServedLog(options.servedLog ?? servedLogPath(ctx?.jobName ?? 'job'), sample) : undefined;
    const url = options.redis === '' ? undefined : options.redis;
    let store: OnlineStore | undefined;
    let restored: FeatureRow[] = [];
    const opening: Promise<OnlineStore> | undefined = url === undefined ? undefined : onlineStore({ ...options.store, url, ...(ctx === undefined ? {} : { clock: ctx.clock }) });
    opening?.catch(() => undefined); // reported by the first batch, not as an unhandled rejection
    const instrumentation = ctx?.instrumentation;
    let failedBatches = 0;
    let timer: NodeJS.Timeout | undefined;
    let gathered = 0;
    const writeLater = (open: OnlineStore) => {
      if (timer !== undefined) return;
      // Real time, like the store's retries: Redis is real I/O even when the job runs on virtual time.
      timer = setTimeout(() => {
        timer = undefined;
        const rows = gathered;
        gathered = 0;
        // One write of what gathered: rows arriving during it wait for the next interval.
        void open.flush({ once: true }).then((written) => report(rows, written));
      }, interval);
      timer.unref();
    };
    // Rows buffered for an unreachable Redis are part of the checkpoint, so a restart still writes them.
    ctx?.checkpointed(stage, {
      snapshot: (): Snapshot => ({ pending: [...restored, ...(store?.pendingRows() ?? [])] }),
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
          if (ack === 'buffered' && interval > 0) {
            store.buffer(rows);
            gathered += rows.length;
            writeLater(store);
          } else {
            const writing = store.materialize(rows).then((written) => report(rows.length, written));
            if (ack === 'written') await writing;
          }
        }
        return records as Envelope<T>[];
      },
      async end() {
        clearTimeout(timer);
        timer = undefined;
        await log?.close();
        if (opening === undefined) return;
        const open = await opening;
        if (restored.length > 0) await open.materialize(restored.splice(0));
        // One last try for rows held during an outage; the store disconnects either way.
        await open.close();
        store = open;
        report(gathered, open.stats().materialize.pending === 0);
        gathered = 0;
      },
      abort() {
        clearTimeout(timer);
        void log?.close();
        void opening?.then((open) => open.close()).catch(() => undefined);
      },
    };
  });
}
