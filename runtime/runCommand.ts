import type { CheckpointOptions } from '../core/checkpoint/coordinator.ts';
import { FileCheckpointStore } from '../core/checkpoint/fileCheckpointStore.ts';
import { runJob, type JobStats, type RunningJob } from '../core/engine/engine.ts';
import { describeError, InvalidOptionError, isSluiceError } from '../core/errors.ts';
import type { KafkaSettings } from '../core/job.ts';
import { resolveSettings } from '../core/settings.ts';
import { kafkaChangelogStore } from '../connectors/kafka/changelog/changelogStore.ts';
import { exactlyOnceChangelogStore } from '../connectors/kafka/changelog/exactlyOnceChangelogStore.ts';
import { kafkaPreflight } from '../connectors/kafka/preflight.ts';
import { bindIO, type BindingOptions } from './bindIO.ts';
import { exactlyOnceRun, localPublishing, type ExactlyOnceRun } from './exactlyOnce.ts';
import { LazyInference } from './lazyInference.ts';
import { loadJobToRun } from './loadJob.ts';
import { trackEventTimeLatency } from './eventLatency.ts';
import { formatProgress, formatSummary, trackLag, type PartitionLag } from './progress.ts';
import { backlogEnd, inputTopics, limitSources } from './runLimits.ts';
import { startTelemetry, type Telemetry } from './telemetry/telemetry.ts';
import { claimCheckpointDirectory } from './threads/checkpointFolders.ts';
import { boundFailedStop } from './failedStop.ts';
import { runThreaded } from './threads/runThreaded.ts';
import type { Dashboard } from './ui/dashboard.ts';
import { startRunDashboard, type UiOptions } from './ui/runDashboard.ts';

/** Everything `sluice run` was told. */
export interface RunOptions extends Omit<BindingOptions, 'settings'> {
  jobPath: string;
  workers: number;
  /** `--parallelism`: stream threads, each a copy of the pipeline; 1 (the default here) runs it on this thread. */
  parallelism?: number;
  /** Records in flight per stream thread. */
  maxInFlight: number;
  kafka: KafkaSettings | undefined;
  /** `--set name=value` texts, checked against the job's declared settings. */
  settings: Record<string, string>;
  /** Checkpoints to local disk or, on Kafka, to a changelog topic; undefined runs without. */
  checkpoints:
    | { kind: 'directory'; directory: string; intervalMs: number; timeoutMs?: number }
    | { kind: 'changelog'; topic: string; intervalMs: number; timeoutMs?: number }
    | undefined;
  /** `--guarantee`: exactly-once commits each checkpoint's outputs, state and offsets in Kafka transactions. */
  guarantee?: 'at-least-once' | 'exactly-once';
  /** `--drain`: a stop fires open windows instead of keeping them for the restart. */
  drain: boolean;
  /** `--max-records`: end the run after this many input records. */
  maxRecords?: number | undefined;
  /** `--until-caught-up`: end the run once the Kafka backlog there was at the start is read. */
  untilCaughtUp?: boolean;
  /** 'auto' shows a live line on a terminal and a line every few seconds otherwise. */
  progress: 'auto' | 'off';
  /** `--trace-sample`: share of records traced; undefined leaves it to the OTEL_* variables. */
  traceSample?: number | undefined;
  /** `--metrics-port`: serve Prometheus metrics; undefined serves none. */
  metricsPort?: number | undefined;
  /** `--metrics-host`: the address the metrics server binds (127.0.0.1 by default). */
  metricsHost?: string | undefined;
  /** `--no-trace-keys`: spans do not carry record keys. */
  traceKeys?: boolean;
  /** Type-check the job file before it starts (cached; `--no-typecheck` skips it). */
  typecheck?: boolean;
  /** `--ui [port]` and its companions: serve the live dashboard; undefined serves none. */
  ui?: UiOptions | undefined;
}

/** Where the command writes; tests pass their own. Records go to stdout only through a `-` output. */
export interface RunOutput {
  err: (text: string) => void;
  isTTY: boolean;
}

const processOutput: RunOutput = {
  err: (text) => process.stderr.write(text),
  isTTY: process.stderr.isTTY === true,
};

/**
 * Runs a job file until its inputs end or SIGTERM/SIGINT arrives, then drains, flushes,
 * commits and prints a summary on stderr (stdout is left to the job's records). Returns the
 * process exit code; failures become one readable line, not a stack trace.
 *
 * @example
 * process.exitCode = await runCommand({ jobPath: 'jobs/fraud-detection.ts', workers: 2, maxInFlight: 20_000, ... });
 */
export async function runCommand(options: RunOptions, output: RunOutput = processOutput): Promise<number> {
  if ((options.parallelism ?? 1) > 1) return runThreaded(options, output);
  let inference: LazyInference | undefined;
  let telemetry: Telemetry | undefined;
  let dashboard: Dashboard | undefined;
  let running: RunningJob | undefined;
  const signals = new SignalHandler(() => running?.stop({ drain: options.drain }), output);
  try {
    const job = await loadJobToRun(options.jobPath, options.typecheck === true, (text) => output.err(text));
    if (job === undefined) return 1;
    if (signals.requested) {
      output.err('sluice: stopped before the job started\n');
      return 0;
    }
    const settings = resolveSettings(job.settings, options.settings);
    const eos = exactlyOnceRun(options.guarantee, options.kafka, localPublishing(options.checkpoints));
    const binding = bindIO(job, { ...options, settings, transactions: eos?.transactions, committedFiles: eos?.files });
    if (options.kafka !== undefined) await kafkaPreflight(options.kafka, binding.topics);
    const backlog = options.untilCaughtUp === true && options.kafka !== undefined ? await backlogEnd(options.kafka, inputTopics(job.inputs, options)) : undefined;
    if (options.checkpoints?.kind === 'directory') claimCheckpointDirectory(options.checkpoints.directory, 1);
    const checkpoints = checkpointOptions(options, output, eos);
    inference = new LazyInference({ workers: options.workers });
    telemetry = await startTelemetry({
      jobName: job.name,
      traceSample: options.traceSample,
      metricsPort: options.metricsPort,
      metricsHost: options.metricsHost,
      keysInSpans: options.traceKeys ?? true,
      pool: inference,
      warn: (line) => output.err(`sluice: ${line}\n`),
    });
    const pool = inference;
    // Before the job, so a port in use fails the start in one line, as --metrics-port does.
    if (options.ui !== undefined) dashboard = await startRunDashboard(options.ui, { job, binding, telemetry, maxInFlight: options.maxInFlight, workers: options.workers, poolQueue: () => pool.queueSize });
    running = runJob(job, {
      sources: telemetry.instrumentSources(limitSources(binding.sources, { maxRecords: options.maxRecords, backlog }, () => running?.stop({ drain: options.drain }))),
      sinks: binding.sinks,
      deadLetterSink: binding.deadLetterSink,
      settings,
      maxInFlight: options.maxInFlight,
      inference,
      instrumentation: telemetry.instrumentation,
      ...(checkpoints === undefined ? {} : { checkpoints: dashboard?.watchCheckpoints(checkpoints) ?? checkpoints }),
    });
    telemetry.attach(running);
    dashboard?.attach(running);
    const eventTime = trackEventTimeLatency(running.instrumentation);
    const lag = trackLag(running.instrumentation);
    // A signal during start-up (type check, loading) stops the job as soon as it exists.
    if (signals.requested) running.stop({ drain: options.drain });
    // Said once the job really starts (models loaded, state restored), so a start-up failure is one line.
    const describe = [...binding.describe, ...telemetry.describe(), ...(dashboard === undefined ? [] : [dashboard.describe()])];
    running.started.then(() => describe.forEach((line) => output.err(`${line}\n`)), () => {});
    const progress = startProgress(running, job.countAs?.label, options.progress, output, lag);
    let stats: JobStats;
    try {
      // A transaction that could not commit lost its outputs: end now, without the drain and
      // final checkpoint of a graceful stop (a restart resumes from the last commit).
      eos?.onFailure(() => running?.fail(eos.failure));
      boundFailedStop(running, (line) => output.err(`sluice: ${line}\n`));
      stats = await running.done;
      if (eos?.failure !== undefined) throw eos.failure;
    } finally {
      progress.stop();
    }
    output.err(formatSummary(job.name, stats, job.countAs?.label, eventTime.summary()) + '\n');
    const deadLetterPath = (binding.deadLetterSink as { path?: unknown }).path;
    if (typeof deadLetterPath === 'string' && stats.deadLettered > 0) output.err(`  dead letters ${deadLetterPath}\n`);
    return 0;
  } catch (error) {
    output.err(`sluice: ${oneLine(error)}\n`);
    return 1;
  } finally {
    signals.dispose();
    await dashboard?.close();
    await telemetry?.stop();
    await inference?.close();
  }
}

/** Any failure as one line: Sluice's own errors say what to do; anything else is named as unexpected. */
export function oneLine(error: unknown): string {
  if (isSluiceError(error)) return error.message.split('\n')[0]!;
  return `unexpected error: ${describeError(error).split('\n')[0]} (run with SLUICE_DEBUG=1 for the stack)${process.env.SLUICE_DEBUG === '1' && error instanceof Error ? `\n${error.stack ?? ''}` : ''}`;
}

/** The checkpoint store and interval `--checkpoint-dir` / the changelog ask for (stream threads call it too). */
export function checkpointOptions(options: RunOptions, output: RunOutput, eos?: ExactlyOnceRun): CheckpointOptions | undefined {
  const choice = options.checkpoints;
  if (choice === undefined) return undefined;
  const log = (line: string) => output.err(`${line}\n`);
  if (choice.kind === 'directory') {
    const files = new FileCheckpointStore({ directory: choice.directory, log });
    return { store: eos?.files === undefined ? files : eos.files.store(files), intervalMs: choice.intervalMs, timeoutMs: choice.timeoutMs, log };
  }
  if (options.kafka === undefined) throw new InvalidOptionError('a changelog topic needs Kafka: pass --brokers, or --checkpoint-dir for local checkpoints');
  const store = kafkaChangelogStore({ settings: options.kafka, topic: choice.topic });
  if (eos?.transactions === undefined) return { store, intervalMs: choice.intervalMs, timeoutMs: choice.timeoutMs, log };
  return { store: exactlyOnceChangelogStore({ restore: store, topic: choice.topic, transactions: eos.transactions, onFailure: (error) => eos.fail(error) }), intervalMs: choice.intervalMs, timeoutMs: choice.timeoutMs, log };
}

/**
 * First SIGTERM/SIGINT: graceful stop. Another one more than a second later: leave at once.
 * (Ctrl-C reaches npm, the bin shim and this process together; copies within a second are one.)
 */
export class SignalHandler {
  readonly #onSignal: (signal: NodeJS.Signals) => void;
  /** A stop was asked for (perhaps before the job existed). */
  requested = false;

  constructor(stop: () => void, output: RunOutput) {
    let firstAt: number | undefined;
    this.#onSignal = (signal) => {
      if (firstAt === undefined) {
        firstAt = performance.now();
        this.requested = true;
        output.err(`\n${signal}: stopping — draining records in flight (send again to exit at once)\n`);
        stop();
      } else if (performance.now() - firstAt > 1000) {
        process.exit(130);
      }
    };
    process.on('SIGTERM', this.#onSignal);
    process.on('SIGINT', this.#onSignal);
  }

  dispose(): void {
    process.off('SIGTERM', this.#onSignal);
    process.off('SIGINT', this.#onSignal);
  }
}

/** The live progress line of a job (or of stream threads' merged stats), until stop(). */
export function startProgress(running: Pick<RunningJob, 'stats'>, countLabel: string | undefined, mode: RunOptions['progress'], output: RunOutput, lag?: PartitionLag | (() => PartitionLag)): { stop(): void } {
  if (mode === 'off') return { stop: () => {} };
  let previous = { in: 0, elapsedMs: 0 };
  const interval = output.isTTY ? 500 : 2000;
  const timer = setInterval(() => {
    const stats = running.stats();
    const line = formatProgress(stats, previous, countLabel, typeof lag === 'function' ? lag() : lag);
    previous = { in: stats.in, elapsedMs: stats.elapsedMs };
    output.err(output.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }, interval);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      if (output.isTTY) output.err('\r\x1b[2K');
    },
  };
}
