import type { OperatorFunction } from 'rxjs';
import type { EntityFeatures } from '../connectors/redis/lookup.ts';
import { onlineStore, type OnlineStore, type OnlineStoreOptions } from '../connectors/redis/onlineStore.ts';
import { durationMs, FeatureStoreError, findView, ServedLog, servedLogPath, viewNames, type Duration, type FeatureValue, type FeatureViewInfo } from '../core/features/index.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import type { MicroBatchOptions } from './microBatch.ts';
import { batchedStage } from './internal/featureBatches.ts';
import type { StageOptions } from './internal/operate.ts';

/** Options of {@link lookupFeatures}. */
export interface LookupFeaturesOptions<T, B> {
  /** The online store, `redis://host:port`; undefined: every value is its default (status `default`, reason `missing`). */
  readonly redis: string | undefined;
  /** The entity key of a value, e.g. `(tx) => tx.merchantId`. */
  readonly entity: (value: T) => string;
  /** The output value from the input and the entity's served features (value, status, age per feature). */
  readonly as: (value: T, features: EntityFeatures) => B;
  /** How long last known values stay in the process-local cache as the fallback when Redis fails. Default '10m'. */
  readonly ttl?: Duration;
  /** A cached read younger than this is served without asking Redis. Default 0: ask every batch. */
  readonly refresh?: Duration;
  /** Share of looked-up rows (0..1) logged to `.sluice/<job>/served-features.jsonl`; 0: none. */
  readonly servedSample?: number;
  readonly servedLog?: string;
  /** Connection and timeout settings of the store (see connectors/redis). */
  readonly store?: Omit<OnlineStoreOptions, 'url' | 'clock' | 'cacheTtlMs' | 'refreshMs'>;
  /** How records are cut into lookup batches. Default: adaptive micro-batches of at most 512. */
  readonly batch?: MicroBatchOptions;
}

function resolveView(view: FeatureViewInfo | string): FeatureViewInfo {
  if (typeof view !== 'string') return view;
  const found = findView(view);
  if (found === undefined) throw new FeatureStoreError(`lookupFeatures(): no feature view named ${JSON.stringify(view)} is loaded (known: ${viewNames().join(', ') || 'none'}): import the module that defines it, or pass the view itself`);
  return found;
}

/** Every feature at its default: what a lookup without an online store serves. */
function defaults(view: FeatureViewInfo, entity: string): EntityFeatures {
  const values: EntityFeatures['values'] = {};
  for (const f of view.features) values[f.name] = { value: f.default, status: 'default', reason: 'missing', ageMs: null };
  return { entity, eventTime: null, values };
}

/**
 * Adds features computed elsewhere (e.g. merchant risk written by another pipeline) from the
 * online store: one MGET per micro-batch for its distinct entities, the store's
 * process-local cache, and for every value its status — `fresh` (from Redis), `cached` (Redis
 * failed; last known value within `ttl`), or `default` with the reason (`missing`, `expired`) —
 * and its age. A value older than its feature's TTL is never served as fresh. Redis down never
 * stops the job: statuses say so, and metrics count lookups by status and store errors.
 *
 * @example
 * payments.pipe(lookupFeatures('merchant_risk', {
 *   redis: settings.redis, entity: (p) => p.merchantId, ttl: '10m',
 *   as: (p, f) => ({ ...p, risk: f.values.risk_score.value, riskStatus: f.values.risk_score.status }),
 * }))
 */
export function lookupFeatures<T, B>(view: FeatureViewInfo | string, options: LookupFeaturesOptions<T, B>, stageOptions?: StageOptions): OperatorFunction<Envelope<T>, Envelope<B>> {
  const info = resolveView(view);
  if (typeof options.entity !== 'function' || typeof options.as !== 'function') throw new FeatureStoreError('lookupFeatures(): `entity` and `as` must be functions of the value');
  const cacheTtlMs = durationMs(options.ttl ?? '10m', 'lookupFeatures() ttl');
  const refreshMs = durationMs(options.refresh ?? 0, 'lookupFeatures() refresh');
  const sample = options.servedSample ?? 0;
  if (!(sample >= 0 && sample <= 1)) throw new FeatureStoreError(`lookupFeatures(): servedSample must be a share in [0, 1] (got ${sample})`);
  return batchedStage<T, B>('lookupFeatures', stageOptions?.stage ?? 'lookup', options.batch ?? {}, (ctx, stage) => {
    const url = options.redis === '' ? undefined : options.redis;
    const opening: Promise<OnlineStore> | undefined = url === undefined ? undefined : onlineStore({ ...options.store, url, cacheTtlMs, refreshMs, ...(ctx === undefined ? {} : { clock: ctx.clock }) });
    opening?.catch(() => undefined); // reported by the first batch
    const log = sample > 0 ? new ServedLog(options.servedLog ?? servedLogPath(ctx?.jobName ?? 'job'), sample) : undefined;
    const instrumentation = ctx?.instrumentation;
    let failures = 0;
    return {
      async batch(records) {
        const entities = records.map((r) => options.entity(r.value));
        const distinct = [...new Set(entities)];
        const startedAt = performance.now();
        let served: EntityFeatures[];
        let store: OnlineStore | undefined;
        if (opening === undefined) served = distinct.map((e) => defaults(info, e));
        else {
          store = await opening;
          served = await store.lookup(info, distinct);
        }
        const byEntity = new Map(distinct.map((e, i) => [e, served[i]!]));
        if (instrumentation !== undefined) {
          const counts = { fresh: 0, cached: 0, defaultMissing: 0, defaultExpired: 0 };
          for (const e of entities) {
            for (const v of Object.values(byEntity.get(e)!.values)) {
              if (v.status === 'fresh') counts.fresh++;
              else if (v.status === 'cached') counts.cached++;
              else if (v.reason === 'expired') counts.defaultExpired++;
              else counts.defaultMissing++;
            }
          }
          instrumentation.emit('features.lookup', { stage, view: info.name, entities: distinct.length, ...counts, durationMs: performance.now() - startedAt });
          const seen = store?.stats().lookup.redisFailures ?? 0;
          if (seen > failures) instrumentation.emit('features.storeError', { stage, view: info.name, operation: 'lookup', count: seen - failures });
          failures = seen;
        }
        if (log !== undefined) {
          log.log(
            served
              .filter((f) => f.eventTime !== null)
              .map((f) => ({ view: info.name, entity: f.entity, eventTime: f.eventTime!, values: Object.fromEntries(Object.entries(f.values).map(([k, v]): [string, FeatureValue] => [k, v.value])) })),
          );
        }
        return records.map((record, i) => withValue(record, options.as(record.value, byEntity.get(entities[i]!)!)));
      },
      async end() {
        await log?.close();
        if (opening !== undefined) await (await opening).close();
      },
      abort() {
        void log?.close();
        void opening?.then((open) => open.close()).catch(() => undefined);
      },
    };
  });
}
