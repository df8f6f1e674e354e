/**
 * The `sluice features ...` commands as functions, for the CLI to wire: backfill, training-set and
 * check. Each takes already-resolved inputs (a view, events) plus paths, prints through `log`, and
 * returns what it did (`featuresCheck` returns the process exit code).
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { computeRows } from './computeRows.ts';
import { FeatureStoreError } from './errors.ts';
import type { FeatureRow, FeatureView, FeatureViewInfo } from './featureView.ts';
import { offlineStore, type LabelRow, type TrainingRow } from './offlineStore.ts';
import { formatSkewReport, skewCheck, type SkewCheckOptions, type SkewReport } from './skewCheck.ts';

/** Where a command prints; default `console.log`. */
export interface CommandIo {
  log?: (line: string) => void;
}

/** Anything that takes feature rows, such as the Redis online store. */
export interface RowSink {
  materialize(rows: readonly FeatureRow[]): Promise<boolean>;
  flush(): Promise<boolean>;
}

/**
 * Parses a JSON Lines file (blank lines skipped); a bad line is one error naming file and line.
 *
 * @example
 * const labels = await readJsonl<LabelRow>('labels.jsonl');
 */
export async function readJsonl<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  let n = 0;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as T);
      } catch {
        throw new FeatureStoreError(`${path}:${n} is not a JSON line: fix or remove it`);
      }
    }
  } catch (error) {
    if (error instanceof FeatureStoreError) throw error;
    throw new FeatureStoreError(`cannot read ${path}: check the path`, { cause: error });
  }
  return out;
}

/**
 * Computes a view's rows over a history of events with the streaming definition, appends them to
 * the offline store in `dir`, and (when given an online store) writes each entity's newest row to
 * it, e.g. to refill a Redis that lost its data.
 *
 * @example
 * await featuresBackfill({ view: fraudFeatures, events: generate(100_000, 7), dir: 'data/features' });
 */
export async function featuresBackfill<E, S>(options: CommandIo & { view: FeatureView<E, S>; events: Iterable<E>; dir: string; online?: RowSink; chunkRows?: number }): Promise<{ rows: number; entities: number; files: string[] }> {
  const log = options.log ?? console.log;
  const { view } = options;
  const rows = computeRows(view, options.events);
  const store = await offlineStore({ dir: options.dir });
  const files: string[] = [];
  try {
    const chunk = options.chunkRows ?? 100_000;
    for (let i = 0; i < rows.length; i += chunk) {
      const file = await store.append(view, rows.slice(i, i + chunk));
      if (file !== undefined) files.push(file);
    }
  } finally {
    store.close();
  }
  const newest = new Map<string, FeatureRow>();
  for (const row of rows) newest.set(row.entity, row);
  if (options.online !== undefined) {
    await options.online.materialize([...newest.values()]);
    if (!(await options.online.flush())) throw new FeatureStoreError(`backfill wrote the offline store but the online store did not take ${newest.size} rows: check Redis and run it again`, { retriable: true });
  }
  log(`backfilled ${rows.length} rows of ${newest.size} ${view.entity}s into ${options.dir}/${view.name} (${files.length} Parquet files)${options.online === undefined ? '' : ', newest rows written to the online store'}`);
  return { rows: rows.length, entities: newest.size, files };
}

function csvField(value: unknown): string {
  const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Builds a point-in-time correct training set: each label joined with every view's features as
 * of the label's event time. Labels come from a JSONL file of `{ entity, eventTime, label }` or
 * an array; with `out`, writes a CSV (entity, event_time, features..., label).
 *
 * @example
 * await featuresTrainingSet({ dir: 'data/features', labels: 'labels.jsonl', views: [fraudFeatures], out: 'training.csv' });
 */
export async function featuresTrainingSet(options: CommandIo & { dir: string; labels: string | readonly LabelRow[]; views: readonly FeatureViewInfo[]; out?: string }): Promise<TrainingRow[]> {
  const log = options.log ?? console.log;
  const labels = typeof options.labels === 'string' ? await readJsonl<LabelRow>(options.labels) : options.labels;
  labels.forEach((l, i) => {
    if (!Number.isFinite(l.eventTime) || l.entity === undefined) throw new FeatureStoreError(`label ${i + 1} needs "entity" and a numeric "eventTime" (got ${JSON.stringify(l)})`);
  });
  const store = await offlineStore({ dir: options.dir });
  let rows: TrainingRow[];
  try {
    rows = await store.trainingSet({ labels, views: options.views });
  } finally {
    store.close();
  }
  if (options.out !== undefined) {
    const names = options.views.flatMap((v) => v.features.map((f) => f.name));
    const lines = [['entity', 'event_time', ...names, 'label'].join(',')];
    for (const r of rows) {
      const entity = typeof r.entity === 'string' ? r.entity : JSON.stringify(r.entity);
      lines.push([entity, r.eventTime, ...names.map((n) => r.values[n]), r.label].map(csvField).join(','));
    }
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, `${lines.join('\n')}\n`);
  }
  const joined = rows.filter((r) => Object.values(r.featureTimes).some((t) => t !== null)).length;
  log(`training set: ${rows.length} labels, ${joined} with features at or before their event time${options.out === undefined ? '' : `, written to ${options.out}`}`);
  return rows;
}

/**
 * The skew check: recomputes the view over `events` offline and compares it with the rows served
 * online (a JSONL file of rows or an array). Prints the per-feature report; returns 0 when it
 * passes, 1 when it does not.
 *
 * @example
 * process.exitCode = await featuresCheck({ view: fraudFeatures, served: 'served.jsonl', events });
 */
export async function featuresCheck<E, S>(options: CommandIo & SkewCheckOptions & { view: FeatureView<E, S>; served: string | readonly FeatureRow[]; events: Iterable<E>; report?: (report: SkewReport) => void }): Promise<number> {
  const log = options.log ?? console.log;
  const served = typeof options.served === 'string' ? await readJsonl<FeatureRow>(options.served) : options.served;
  const offline = computeRows(options.view, options.events);
  const report = skewCheck(options.view, served, offline, options);
  for (const line of formatSkewReport(report)) log(line);
  options.report?.(report);
  return report.passed ? 0 : 1;
}
