/**
 * The `sluice features ...` commands for a job file: they find the job's feature view (by the
 * views its modules register), take its input's events from a JSONL file or from the job's own
 * generator (the same settings as the run), and call the commands in commands.ts. The CLI loads
 * the job and passes it in; these functions never exit the process.
 */
import type { Job } from '../defineJob.ts';
import { resolveSettings } from '../settings.ts';
import { featuresBackfill, featuresCheck, featuresTrainingSet, readJsonl, type CommandIo, type RowSink } from './commands.ts';
import { FeatureStoreError } from './errors.ts';
import type { FeatureRow, FeatureView } from './featureView.ts';
import { findView, viewNames } from './registry.ts';
import { servedLogPath } from './servedLog.ts';
import type { SkewCheckOptions, SkewReport } from './skewCheck.ts';

/** What every job-level feature command takes. */
export interface JobFeaturesOptions extends CommandIo {
  /** The loaded job (its module import registered its feature views). */
  readonly job: Job;
  /** `--set name=value` texts, as for `sluice run`: the generator makes the same events with them. */
  readonly settings?: Readonly<Record<string, string>>;
  /** `--view name`; needed only when the job's modules register more than one view. */
  readonly view?: string;
  /** `--events file.jsonl`: the input's history; default: the job's generator. */
  readonly events?: string;
  /** `--input name`: which input the events are; needed only for a job with several inputs. */
  readonly input?: string;
}

function pickView(job: Job, name: string | undefined): FeatureView<unknown, unknown> {
  const names = viewNames();
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  if (chosen === undefined) {
    throw new FeatureStoreError(
      names.length === 0 ? `job ${job.name} defines no feature view: declare one with featureView() in a module the job imports` : `job ${job.name} has feature views ${names.join(', ')}: pick one with --view`,
    );
  }
  const view = findView(chosen);
  if (view === undefined || !('update' in view)) throw new FeatureStoreError(`no feature view named ${chosen} in job ${job.name} (views: ${names.join(', ') || 'none'}): check --view`);
  return view as FeatureView<unknown, unknown>;
}

/** The job's input events: parsed from `--events`, or made by its generator with the run's settings. */
async function jobEvents(options: JobFeaturesOptions): Promise<unknown[]> {
  const { job } = options;
  const inputs = Object.keys(job.inputs);
  const name = options.input ?? (inputs.length === 1 ? inputs[0] : undefined);
  if (name === undefined || job.inputs[name] === undefined) throw new FeatureStoreError(`job ${job.name} has inputs ${inputs.join(', ')}: pick the events' input with --input`);
  const spec = job.inputs[name]!;
  if (options.events !== undefined) return (await readJsonl<unknown>(options.events)).map((value) => spec.parse(value));
  const generator = job.generators(resolveSettings(job.settings, options.settings ?? {}))[name];
  if (generator === undefined) throw new FeatureStoreError(`job ${job.name} has no generator for input ${name}: give its history with --events file.jsonl`);
  if (!Number.isFinite(generator.count)) throw new FeatureStoreError(`the generator of ${job.name} makes endless events: bound it with --set count=N (as in the run) or give --events`);
  return Array.from({ length: generator.count }, (_, i) => generator.make(i));
}

/** Up to `sample` rows spread evenly over the log (all of them when there are fewer). */
function spread<T>(rows: readonly T[], sample: number | undefined): T[] {
  if (sample === undefined || rows.length <= sample) return [...rows];
  const step = rows.length / sample;
  return Array.from({ length: sample }, (_, i) => rows[Math.floor(i * step)]!);
}

/**
 * `sluice features backfill --job <file> [--dir data/features] [--redis url]`: the job's view over
 * its input history into the offline store (and each entity's newest row into Redis).
 *
 * @example
 * await featuresBackfillJob({ job, dir: 'data/features', settings: { count: '100000' } });
 */
export async function featuresBackfillJob(options: JobFeaturesOptions & { dir: string; online?: RowSink }): Promise<{ rows: number; entities: number; files: string[] }> {
  const view = pickView(options.job, options.view);
  const events = await jobEvents(options);
  return featuresBackfill({ view, events, dir: options.dir, ...(options.online === undefined ? {} : { online: options.online }), ...(options.log === undefined ? {} : { log: options.log }) });
}

/**
 * `sluice features training-set --job <file> --labels <file> [--dir data/features] [--out file.csv]`:
 * each label joined with the view's features as of its event time.
 *
 * @example
 * await featuresTrainingSetJob({ job, dir: 'data/features', labels: 'labels.jsonl', out: 'training.csv' });
 */
export async function featuresTrainingSetJob(options: JobFeaturesOptions & { dir: string; labels: string; out?: string }): Promise<number> {
  const view = pickView(options.job, options.view);
  const rows = await featuresTrainingSet({ dir: options.dir, labels: options.labels, views: [view], ...(options.out === undefined ? {} : { out: options.out }), ...(options.log === undefined ? {} : { log: options.log }) });
  return rows.length;
}

/**
 * `sluice features check --job <file> [--sample N] [--served file]`: replays up to `sample` rows of
 * the served-rows log (`.sluice/<job>/served-features.jsonl`, written with `--set servedSample=...`)
 * against the offline recomputation over the same events; returns the exit code (0 pass, 1 fail).
 *
 * @example
 * process.exitCode = await featuresCheckJob({ job, sample: 10_000 });
 */
export async function featuresCheckJob(options: JobFeaturesOptions & SkewCheckOptions & { sample?: number; served?: string; report?: (report: SkewReport) => void }): Promise<number> {
  if (options.sample !== undefined && !(Number.isInteger(options.sample) && options.sample > 0)) throw new FeatureStoreError(`--sample must be a positive integer (got ${options.sample})`);
  const path = options.served ?? servedLogPath(options.job.name);
  const logged = await readJsonl<FeatureRow>(path).catch((error: unknown) => {
    throw new FeatureStoreError(`no served-rows log at ${path}: run the job with --set servedSample=0.05 (or another share) first`, { cause: error });
  });
  const view = pickView(options.job, options.view ?? logged[0]?.view);
  const served = spread(logged.filter((row) => row.view === view.name), options.sample);
  const events = await jobEvents(options);
  return featuresCheck({ ...options, view, served, events });
}
