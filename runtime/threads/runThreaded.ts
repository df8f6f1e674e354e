import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidOptionError } from '../../core/errors.ts';
import { resolveSettings } from '../../core/settings.ts';
import { kafkaPreflight } from '../../connectors/kafka/preflight.ts';
import { bindIO, type Binding } from '../bindIO.ts';
import { exactlyOnceRun } from '../exactlyOnce.ts';
import { loadJobToRun } from '../loadJob.ts';
import { formatSummary } from '../progress.ts';
import { backlogEnd, inputTopics } from '../runLimits.ts';
import { oneLine, startProgress, SignalHandler, type RunOptions, type RunOutput } from '../runCommand.ts';
import { samplingPolicy } from '../telemetry/sampling.ts';
import { claimCheckpointDirectory } from './checkpointFolders.ts';
import { Supervisor } from './supervisor.ts';
import { BacklogWatch, threadLimits } from './threadLimits.ts';
import { startThreadMetrics, type ThreadMetricsServer } from './threadMetrics.ts';

/**
 * `sluice run --parallelism N` (N > 1): the job's pipeline runs in N stream threads of this
 * process (see supervisor.ts); this thread checks the job once, prepares the outputs, serves
 * the merged `/metrics`, shows one progress line and one summary, and turns SIGTERM/SIGINT into
 * a drain of every thread. Returns the exit code.
 *
 * @example
 * process.exitCode = await runThreaded({ ...options, parallelism: 2 }, output);
 */
export async function runThreaded(options: RunOptions, output: RunOutput): Promise<number> {
  const count = options.parallelism ?? 1;
  let threads: Supervisor | undefined;
  let metrics: ThreadMetricsServer | undefined;
  const signals = new SignalHandler(() => threads?.stop(options.drain), output);
  const hangUp = () => threads?.hangup();
  process.on('SIGHUP', hangUp);
  try {
    const job = await loadJobToRun(options.jobPath, options.typecheck === true, (text) => output.err(text));
    if (job === undefined) return 1;
    if (signals.requested) {
      output.err('sluice: stopped before the job started\n');
      return 0;
    }
    // A telemetry setting every thread would refuse is one line here, not one per thread.
    samplingPolicy({ traceSample: options.traceSample });
    const settings = resolveSettings(job.settings, options.settings);
    // No connection yet: the threads make their own; this one only names the guarantee below.
    const eos = exactlyOnceRun(options.guarantee, options.kafka);
    if (eos?.files !== undefined) throw new InvalidOptionError(EMBEDDED_EXACTLY_ONCE_THREADS);
    // Bound here only to check the flags, name the topics and describe the run; each thread binds its own.
    const binding = bindIO(job, { ...options, settings, transactions: eos?.transactions });
    if (options.kafka !== undefined) await kafkaPreflight(options.kafka, binding.topics);
    const backlog = options.untilCaughtUp === true && options.kafka !== undefined ? await backlogEnd(options.kafka, inputTopics(job.inputs, options)) : undefined;
    let caughtUp: BacklogWatch | undefined;
    if (options.checkpoints?.kind === 'directory') claimCheckpointDirectory(options.checkpoints.directory, count);
    if (options.outputMode === 'overwrite') startFilesAfresh(binding);
    if (options.metricsPort !== undefined) metrics = await startThreadMetrics({ jobName: job.name, port: options.metricsPort, host: options.metricsHost, threads: () => threads?.metrics() ?? Promise.resolve([]) });
    threads = new Supervisor({
      options,
      count,
      // The pool's workers are shared out: each thread gets its own pool, the total stays near --workers.
      workers: Math.max(1, Math.round(options.workers / count)),
      collectMetrics: metrics !== undefined,
      restartable: options.kafka !== undefined || options.checkpoints !== undefined,
      log: (text) => output.err(text),
      limits: threadLimits({ maxRecords: options.maxRecords, backlog }),
      // A thread took the run's last record, or every partition was read to its backlog end: drain and stop.
      onLimit: (message) => (message.type === 'limit' ? threads?.stop(options.drain) : caughtUp?.reached(message.partition)),
    });
    threads.start();
    if (backlog !== undefined) caughtUp = new BacklogWatch(backlog, () => threads?.stop(options.drain));
    if (signals.requested) threads.stop(options.drain);
    const describe = [...binding.describe, `stream threads: ${count}, each with ${Math.max(1, Math.round(options.workers / count))} inference worker(s) of its own when the job has a model`];
    if (options.kafka === undefined) {
      for (const [name, spec] of Object.entries(job.inputs)) {
        if (spec.key === undefined) describe.push(`input ${name} declares no key: the first stream thread reads all of it (give input() a key to share it among the threads)`);
      }
    }
    threads.started.then((lines) => [...describe, ...lines, ...(metrics === undefined ? [] : [`metrics: ${metrics.url}`])].forEach((line) => output.err(`${line}\n`)));
    const supervisor = threads;
    const progress = startProgress({ stats: () => supervisor.stats() }, job.countAs?.label, options.progress, output, () => supervisor.lag());
    let result;
    try {
      result = await threads.done;
    } finally {
      progress.stop();
    }
    output.err(formatSummary(job.name, result.stats, job.countAs?.label, result.eventTime) + '\n');
    output.err(`  threads     ${count} stream threads, ${result.restarts} restarted\n`);
    const deadLetterPath = (binding.deadLetterSink as { path?: unknown }).path;
    if (typeof deadLetterPath === 'string' && result.stats.deadLettered > 0) output.err(`  dead letters ${deadLetterPath}\n`);
    return 0;
  } catch (error) {
    output.err(`sluice: ${oneLine(error)}\n`);
    return 1;
  } finally {
    signals.dispose();
    process.off('SIGHUP', hangUp);
    await metrics?.close();
  }
}

/**
 * Why embedded exactly-once runs keep one stream thread: its output files are published at
 * checkpoints with each file's length recorded in the checkpoint, and a thread's recovery cuts a
 * file back to its own checkpoint's length, which would cut off what other threads published.
 */
export const EMBEDDED_EXACTLY_ONCE_THREADS = '--guarantee exactly-once without --brokers publishes the output files at the checkpoints of one stream thread: add --parallelism 1 (on Kafka it holds per thread)';

/** Output and dead-letter files start empty once here; the threads append to them. */
function startFilesAfresh(binding: Binding): void {
  for (const sink of [...Object.values(binding.sinks), binding.deadLetterSink]) {
    const path = (sink as { path?: unknown }).path;
    if (typeof path !== 'string') continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '');
  }
}
