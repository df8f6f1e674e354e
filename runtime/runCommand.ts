import { runJob, type JobStats, type RunningJob } from '../core/engine.ts';
import { describeError, InvalidOptionError, SluiceError } from '../core/errors.ts';
import type { KafkaSettings, RunEnvironment } from '../core/job.ts';
import { systemClock } from '../core/clock.ts';
import { deadLetterFileSink } from '../connectors/deadLetterFileSink.ts';
import { FileCheckpointStore } from '../core/checkpoint/fileCheckpointStore.ts';
import type { CheckpointOptions } from '../core/checkpoint/coordinator.ts';
import { kafkaChangelogStore } from '../connectors/kafka/changelogStore.ts';
import { InferencePool } from './inferencePool.ts';
import { loadJob } from './loadJob.ts';
import { formatProgress, formatSummary } from './progress.ts';
import { startTelemetry, type Telemetry } from './telemetry/telemetry.ts';

/** Everything `sluice run` was told. */
export interface RunOptions {
  jobPath: string;
  workers: number;
  maxInFlight: number;
  kafka: KafkaSettings | undefined;
  topics: RunEnvironment['topics'];
  settings: Record<string, string>;
  /** Checkpoints to local disk or, on Kafka, to a changelog topic; undefined runs without. */
  checkpoints:
    | { kind: 'directory'; directory: string; intervalMs: number }
    | { kind: 'changelog'; topic: string; intervalMs: number }
    | undefined;
  /** 'auto' shows a live line on a terminal and a line every few seconds otherwise. */
  progress: 'auto' | 'off';
  /** `--trace-sample`: share of records traced; undefined leaves it to the OTEL_* variables. */
  traceSample?: number | undefined;
  /** `--metrics-port`: serve Prometheus metrics; undefined serves none. */
  metricsPort?: number | undefined;
}

/** Where the command writes; tests pass their own. */
export interface RunOutput {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY: boolean;
}

const processOutput: RunOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: process.stderr.isTTY === true,
};

/**
 * Runs a job file until its source ends or SIGTERM/SIGINT arrives, then drains, flushes,
 * commits and prints a summary. Returns the process exit code; failures become one readable
 * line, not a stack trace.
 *
 * @example
 * process.exitCode = await runCommand({ jobPath: 'jobs/fraud-detection.ts', workers: 2, maxInFlight: 20_000, ... });
 */
export async function runCommand(options: RunOptions, output: RunOutput = processOutput): Promise<number> {
  let pool: InferencePool | undefined;
  let telemetry: Telemetry | undefined;
  let running: RunningJob | undefined;
  const signals = new SignalHandler(() => running?.stop(), output);
  try {
    const job = await loadJob(options.jobPath);
    pool = new InferencePool({ workers: options.workers });
    const env: RunEnvironment = { kafka: options.kafka, topics: options.topics, settings: options.settings, workers: options.workers, clock: systemClock };
    const deadLetterSink = job.deadLetter?.(env) ?? deadLetterFileSink(`.sluice/${job.name}/dead-letters.jsonl`);
    const checkpoints = checkpointOptions(options, output);
    telemetry = await startTelemetry({
      jobName: job.name,
      traceSample: options.traceSample,
      metricsPort: options.metricsPort,
      pool,
      warn: (line) => output.err(`sluice: ${line}\n`),
    });
    for (const line of telemetry.describe()) output.err(`${line}\n`);
    running = runJob(telemetry.instrumentJob(job), {
      env,
      maxInFlight: options.maxInFlight,
      inference: pool,
      deadLetterSink,
      instrumentation: telemetry.instrumentation,
      ...(checkpoints === undefined ? {} : { checkpoints }),
    });
    telemetry.attach(running);
    const progress = startProgress(running, job.countAs?.label, options.progress, output);
    let stats: JobStats;
    try {
      stats = await running.done;
    } finally {
      progress.stop();
    }
    output.out(formatSummary(job.name, stats, job.countAs?.label) + '\n');
    if ('path' in deadLetterSink && stats.deadLettered > 0) output.out(`  dead letters ${String(deadLetterSink.path)}\n`);
    return 0;
  } catch (error) {
    output.err(`sluice: ${error instanceof SluiceError ? error.message : `unexpected error: ${describeError(error)}`}\n`);
    if (!(error instanceof SluiceError) && error instanceof Error && error.stack !== undefined) output.err(`${error.stack}\n`);
    return 1;
  } finally {
    signals.dispose();
    await telemetry?.stop();
    await pool?.close();
  }
}

function checkpointOptions(options: RunOptions, output: RunOutput): CheckpointOptions | undefined {
  const choice = options.checkpoints;
  if (choice === undefined) return undefined;
  const log = (line: string) => output.err(`${line}\n`);
  if (choice.kind === 'directory') return { store: new FileCheckpointStore({ directory: choice.directory, log }), intervalMs: choice.intervalMs, log };
  if (options.kafka === undefined) throw new InvalidOptionError('a changelog topic needs Kafka: pass --brokers, or --checkpoint-dir for local checkpoints');
  return { store: kafkaChangelogStore({ settings: options.kafka, topic: choice.topic }), intervalMs: choice.intervalMs, log };
}

/**
 * First SIGTERM/SIGINT: graceful stop. Another one more than a second later: leave at once.
 * (Ctrl-C reaches npm, the bin shim and this process together; copies within a second are one.)
 */
class SignalHandler {
  readonly #onSignal: (signal: NodeJS.Signals) => void;

  constructor(stop: () => void, output: RunOutput) {
    let firstAt: number | undefined;
    this.#onSignal = (signal) => {
      if (firstAt === undefined) {
        firstAt = performance.now();
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

function startProgress(running: RunningJob, countLabel: string | undefined, mode: RunOptions['progress'], output: RunOutput): { stop(): void } {
  if (mode === 'off') return { stop: () => {} };
  let previous = { in: 0, elapsedMs: 0 };
  const interval = output.isTTY ? 500 : 2000;
  const timer = setInterval(() => {
    const stats = running.stats();
    const line = formatProgress(stats, previous, countLabel);
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
