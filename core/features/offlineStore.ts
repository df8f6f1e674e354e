/**
 * The offline feature store: feature rows appended as Parquet files under `<dir>/<view>/`, and
 * point-in-time correct training sets built with DuckDB's ASOF JOIN (each label gets, per view,
 * the newest row of its entity with event time <= the label's event time, never a later one).
 * DuckDB runs in memory; the Parquet files are the store.
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { FeatureStoreError } from './errors.ts';
import { computeRows } from './computeRows.ts';
import { coerceFeature, type FeatureInfo, type FeatureRow, type FeatureType, type FeatureValue, type FeatureView, type FeatureViewInfo } from './featureView.ts';

/** One label: the entity (one key for every view, or one per entity kind), its event time, the label. */
export interface LabelRow {
  entity: string | Readonly<Record<string, string>>;
  eventTime: number;
  label: number;
}

/** A label with its point-in-time features (defaults where missing or older than the TTL). */
export interface TrainingRow extends LabelRow {
  values: Record<string, FeatureValue>;
  /** Per view, the event time of the joined row, or null when none was at or before the label. */
  featureTimes: Record<string, number | null>;
}

/** A connected offline store. */
export interface OfflineStore {
  readonly dir: string;
  /** Appends rows of `view` as one new Parquet file; returns its path (undefined for no rows). */
  append(view: FeatureViewInfo, rows: readonly FeatureRow[]): Promise<string | undefined>;
  /** Computes `view` over a history of `events` with the streaming `update` and appends the rows. */
  backfill<E, S>(events: Iterable<E>, view: FeatureView<E, S>): Promise<FeatureRow[]>;
  /** The stored rows of `view` by event time, one per (entity, event time): the last appended wins. */
  rows(view: FeatureViewInfo): Promise<FeatureRow[]>;
  /** Labels joined with each view's features as of the label's event time. */
  trainingSet(options: { labels: readonly LabelRow[]; views: readonly FeatureViewInfo[] }): Promise<TrainingRow[]>;
  close(): void;
}

const SQL_TYPE: Record<FeatureType, string> = { float32: 'DOUBLE', float64: 'DOUBLE', int: 'DOUBLE', bool: 'BOOLEAN', string: 'VARCHAR' };

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function appendValue(appender: DuckDBAppender, feature: FeatureInfo, value: FeatureValue | undefined): void {
  if (value === undefined) appender.appendNull();
  else if (feature.type === 'bool') appender.appendBoolean(value === true);
  else if (feature.type === 'string') appender.appendVarchar(String(value));
  else appender.appendDouble(Number(value));
}

function entityOf(label: LabelRow, view: FeatureViewInfo): string {
  if (typeof label.entity === 'string') return label.entity;
  const key = label.entity[view.entity];
  if (key === undefined) throw new FeatureStoreError(`label at ${label.eventTime} has no '${view.entity}' key for view ${view.name}: give entity as a string or with a '${view.entity}' field`);
  return key;
}

/**
 * Opens (creating) an offline store in `dir`.
 *
 * @example
 * const store = await offlineStore({ dir: 'data/features' });
 * await store.append(fraudFeatures, rows);
 * const training = await store.trainingSet({ labels, views: [fraudFeatures] });
 * store.close();
 */
export async function offlineStore(options: { dir: string }): Promise<OfflineStore> {
  const dir = options.dir;
  await mkdir(dir, { recursive: true });
  // Parquet is built into the binary; never let DuckDB fetch an extension from the network.
  // Loaded here, not at the top: every job that declares features imports this module, and only
  // the offline commands need DuckDB's native library (half a second to load).
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const db: DuckDBConnection = await instance.connect();
  const nextFile = new Map<string, number>();
  let queue: Promise<unknown> = Promise.resolve();
  // One DuckDB statement sequence at a time: appends and joins share staging tables.
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };

  const files = async (view: FeatureViewInfo): Promise<string[]> => {
    const names = await readdir(join(dir, view.name)).catch(() => [] as string[]);
    return names.filter((n) => /^part-\d+\.parquet$/.test(n)).sort();
  };

  const columns = (view: FeatureViewInfo): string => view.features.map((f) => `${quote(f.name)} ${SQL_TYPE[f.type]}`).join(', ');

  /** The view's rows, one per (entity, event time): the last appended wins a tie. */
  const source = async (view: FeatureViewInfo): Promise<string | undefined> => {
    if ((await files(view)).length === 0) return undefined;
    const glob = literal(join(dir, view.name, 'part-*.parquet'));
    return `(SELECT * FROM read_parquet(${glob}) QUALIFY row_number() OVER (PARTITION BY __entity, __event_time ORDER BY __file DESC, __row DESC) = 1)`;
  };

  const toRow = (view: FeatureViewInfo, record: Record<string, unknown>): Record<string, FeatureValue> => {
    const values: Record<string, FeatureValue> = {};
    for (const f of view.features) {
      const v = record[f.name];
      if (v !== null && v !== undefined) values[f.name] = coerceFeature(f.type, v as FeatureValue);
    }
    return values;
  };

  const append = (view: FeatureViewInfo, rows: readonly FeatureRow[]): Promise<string | undefined> =>
    serial(async () => {
      if (rows.length === 0) return undefined;
      const viewDir = join(dir, view.name);
      await mkdir(viewDir, { recursive: true });
      let fileNo = nextFile.get(view.name);
      if (fileNo === undefined) {
        const existing = await files(view);
        fileNo = existing.length === 0 ? 1 : Number(/\d+/.exec(existing.at(-1)!)![0]) + 1;
      }
      nextFile.set(view.name, fileNo + 1);
      await db.run(`CREATE OR REPLACE TEMP TABLE staging (__entity VARCHAR, __event_time BIGINT, __file BIGINT, __row BIGINT, ${columns(view)})`);
      const appender = await db.createAppender('staging');
      rows.forEach((row, i) => {
        if (row.view !== view.name) throw new FeatureStoreError(`row of view ${row.view} appended to view ${view.name}: append each view's rows separately`);
        appender.appendVarchar(row.entity);
        appender.appendBigInt(BigInt(row.eventTime));
        appender.appendBigInt(BigInt(fileNo));
        appender.appendBigInt(BigInt(i));
        for (const f of view.features) appendValue(appender, f, row.values[f.name]);
        appender.endRow();
      });
      appender.closeSync();
      const name = `part-${String(fileNo).padStart(6, '0')}.parquet`;
      const temp = join(viewDir, `.${name}.tmp`);
      await db.run(`COPY staging TO ${literal(temp)} (FORMAT parquet)`);
      // Readers glob part-*.parquet: a file appears whole or not at all.
      await rename(temp, join(viewDir, name));
      await db.run('DROP TABLE staging');
      return join(viewDir, name);
    });

  return {
    dir,
    append,
    async backfill(events, view) {
      const rows = computeRows(view, events);
      await append(view, rows);
      return rows;
    },

    rows: (view) =>
      serial(async () => {
        const from = await source(view);
        if (from === undefined) return [];
        const result = await db.runAndReadAll(`SELECT __entity, CAST(__event_time AS DOUBLE) AS __t, * EXCLUDE (__entity, __event_time, __file, __row) FROM ${from} ORDER BY __event_time, __file, __row`);
        return result.getRowObjectsJS().map((r) => ({ view: view.name, entity: String(r.__entity), eventTime: Number(r.__t), values: toRow(view, r) }));
      }),

    trainingSet: ({ labels, views }) =>
      serial(async () => {
        const seen = new Set<string>();
        for (const view of views) {
          for (const f of view.features) {
            if (seen.has(f.name)) throw new FeatureStoreError(`feature ${f.name} is in two views of the training set: rename one of them`);
            seen.add(f.name);
          }
        }
        const out: TrainingRow[] = labels.map((l) => ({ ...l, values: {}, featureTimes: {} }));
        for (const view of views) {
          const joined = new Map<number, Record<string, unknown>>();
          const from = await source(view);
          if (from !== undefined) {
            await db.run('CREATE OR REPLACE TEMP TABLE labels (__i BIGINT, __entity VARCHAR, __event_time BIGINT)');
            const appender = await db.createAppender('labels');
            labels.forEach((label, i) => {
              appender.appendBigInt(BigInt(i));
              appender.appendVarchar(entityOf(label, view));
              appender.appendBigInt(BigInt(label.eventTime));
              appender.endRow();
            });
            appender.closeSync();
            // ASOF: the newest feature row with event time <= the label's (ties were resolved in `source`).
            const result = await db.runAndReadAll(
              `SELECT CAST(l.__i AS DOUBLE) AS __i, CAST(f.__event_time AS DOUBLE) AS __t, f.* EXCLUDE (__entity, __event_time, __file, __row)
               FROM labels l ASOF LEFT JOIN ${from} f ON l.__entity = f.__entity AND l.__event_time >= f.__event_time`,
            );
            for (const r of result.getRowObjectsJS()) joined.set(Number(r.__i), r);
            await db.run('DROP TABLE labels');
          }
          out.forEach((row, i) => {
            const r = joined.get(i);
            const time = r === undefined || r.__t === null ? null : Number(r.__t);
            row.featureTimes[view.name] = time;
            const values = r === undefined || time === null ? {} : toRow(view, r);
            for (const f of view.features) {
              // Same rule as the online lookup: older than the TTL, or missing, is the default.
              const fresh = time !== null && row.eventTime - time <= f.ttlMs && values[f.name] !== undefined;
              row.values[f.name] = fresh ? values[f.name]! : f.default;
            }
          });
        }
        return out;
      }),

    close() {
      db.closeSync();
      instance.closeSync();
    },
  };
}
