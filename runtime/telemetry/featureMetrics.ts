import { Counter, Gauge, type Registry } from 'prom-client';
import type { Instrumentation } from '../../core/instrumentation.ts';

type Status = 'fresh' | 'cached' | 'default_missing' | 'default_expired';

/**
 * The feature store's Prometheus metrics, fed by the `features.*` instrumentation events of
 * `materializeFeatures` and `lookupFeatures`: looked-up values by status, rows materialized,
 * rows waiting for Redis, and store errors. Listeners add to plain maps; prom-client reads them
 * at scrape time.
 *
 * @example
 * const features = new FeatureMetrics([registry]);
 * features.subscribe(instrumentation);
 */
export class FeatureMetrics {
  readonly #lookups = new Map<string, { view: string; status: Status; count: number }>();
  readonly #materialized = new Map<string, number>();
  readonly #pending = new Map<string, number>();
  readonly #errors = new Map<string, { view: string; operation: string; count: number }>();

  constructor(registers: Registry[]) {
    const lookups = this.#lookups;
    const materialized = this.#materialized;
    const pending = this.#pending;
    const errors = this.#errors;
    new Counter({
      name: 'sluice_feature_lookups_total',
      help: 'Feature values served by lookupFeatures, by view and status (fresh, cached, default_missing, default_expired).',
      labelNames: ['view', 'status'],
      registers,
      collect() {
        this.reset();
        for (const l of lookups.values()) this.inc({ view: l.view, status: l.status }, l.count);
      },
    });
    new Counter({
      name: 'sluice_feature_rows_materialized_total',
      help: 'Feature rows handed to the online store by materializeFeatures (written, or buffered while Redis is down).',
      labelNames: ['view'],
      registers,
      collect() {
        this.reset();
        for (const [view, n] of materialized) this.inc({ view }, n);
      },
    });
    new Gauge({
      name: 'sluice_feature_rows_pending',
      help: 'Entities whose newest feature row waits for Redis (the outage buffer).',
      labelNames: ['view'],
      registers,
      collect() {
        this.reset();
        for (const [view, n] of pending) this.set({ view }, n);
      },
    });
    new Counter({
      name: 'sluice_feature_store_errors_total',
      help: 'Online store calls that failed or timed out, by view and operation (lookup, materialize); the job went on.',
      labelNames: ['view', 'operation'],
      registers,
      collect() {
        this.reset();
        for (const e of errors.values()) this.inc({ view: e.view, operation: e.operation }, e.count);
      },
    });
  }

  #countLookup(view: string, status: Status, n: number): void {
    if (n === 0) return;
    const key = `${view}\u0000${status}`;
    const entry = this.#lookups.get(key);
    if (entry === undefined) this.#lookups.set(key, { view, status, count: n });
    else entry.count += n;
  }

  /** Listens to the job's `features.*` events; returns the unsubscribe. */
  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [
      instrumentation.on('features.lookup', (e) => {
        this.#countLookup(e.view, 'fresh', e.fresh);
        this.#countLookup(e.view, 'cached', e.cached);
        this.#countLookup(e.view, 'default_missing', e.defaultMissing);
        this.#countLookup(e.view, 'default_expired', e.defaultExpired);
      }),
      instrumentation.on('features.materialized', (e) => {
        this.#materialized.set(e.view, (this.#materialized.get(e.view) ?? 0) + e.rows);
        this.#pending.set(e.view, e.pending);
      }),
      instrumentation.on('features.storeError', (e) => {
        const key = `${e.view}\u0000${e.operation}`;
        const entry = this.#errors.get(key);
        if (entry === undefined) this.#errors.set(key, { view: e.view, operation: e.operation, count: e.count });
        else entry.count += e.count;
      }),
    ];
    return () => {
      for (const off of offs) off();
    };
  }
}
