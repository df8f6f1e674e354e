import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Publisher } from '../../connectors/filePublisher.ts';
import { FileCheckpointStore } from '../../core/checkpoint/fileCheckpointStore.ts';
import { resolveSettings } from '../../core/settings.ts';
import { kafkaPreflight } from '../../connectors/kafka/preflight.ts';
import { bindIO, type Binding } from '../bindIO.ts';
import { exactlyOnceRun, localPublishing } from '../exactlyOnce.ts';
import { loadJobToRun } from '../loadJob.ts';
import { formatSummary } from '../progress.ts';
import { backlogEnd, inputTopics } from '../runLimits.ts';
import { oneLine, startProgress, SignalHandler, type RunOptions, type RunOutput } from '../runCommand.ts';
import { samplingPolicy } from '../telemetry/sampling.ts';
import { claimCheckpointDirectory } from './checkpointFolders.ts';
import { threadFolder } from './protocol.ts';
import { Supervisor } from './supervisor.ts';
import { BacklogWatch, threadLimits } from './threadLimits.ts';
import { startThreadMetrics, type ThreadMetricsServer } from './threadMetrics.ts';
import { tracingWanted } from '../telemetry/telemetry.ts';
import { startDashboard, type Dashboard } from '../ui/dashboard.ts';
import { EMPTY_STATS } from '../ui/jobCollector.ts';
import { runGraph } from '../ui/runDashboard.ts';
import { ThreadViews } from '../ui/threadViews.ts';

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
  let dashboard: Dashboard | undefined;
  let views: ThreadViews | undefined;
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
    // Embedded, this thread is the one writer of the output files the threads share.
    const publishing = localPublishing(options.checkpoints);
    const eos = exactlyOnceRun(options.guarantee, options.kafka, publishing);
    const publisher = eos?.files === undefined ? undefined : publishing?.publisher;
    // Bound here only to check the flags, name the topics and describe the run; each thread binds its own.
    const binding = bindIO(job, { ...options, settings, transactions: eos?.transactions, committedFiles: eos?.files });
    if (options.kafka !== undefined) await kafkaPreflight(options.kafka, binding.topics);
    const backlog = options.untilCaughtUp === true && options.kafka !== undefined ? await backlogEnd(options.kafka, inputTopics(job.inputs, options)) : undefined;
    let caughtUp: BacklogWatch | undefined;
    if (options.checkpoints?.kind === 'directory') claimCheckpointDirectory(options.checkpoints.directory, count);
    if (options.outputMode === 'overwrite') await startFilesAfresh(binding, options, publisher, count);
    if (options.metricsPort !== undefined) metrics = await startThreadMetrics({ jobName: job.name, port: options.metricsPort, host: options.metricsHost, threads: () => threads?.metrics() ?? Promise.resolve([]) });
    // The pool's workers are shared out: each thread gets its own pool, the total stays near --workers.
    const workers = Math.max(1, Math.round(options.workers / count));
    const describe = [...binding.describe, `stream threads: ${count}, each with ${workers} inference worker(s) of its own when the job has a model`];
    if (options.kafka === undefined) {
      for (const [name, spec] of Object.entries(job.inputs)) {
        if (spec.key === undefined) describe.push(`input ${name} declares no key: the first stream thread reads all of it (give input() a key to share it among the threads)`);
      }
    }
    if (options.ui !== undefined) {
      // Each thread collects its own pipeline's view; this thread merges them and serves the page.
      views = new ThreadViews({ stats: () => threads?.stats() ?? EMPTY_STATS });
      dashboard = await startDashboard({
        ...options.ui,
        job: { name: job.name, description: job.description },
        graph: runGraph(binding),
        // The threads' telemetry lines join it once they started (the page reads this list anew each time).
        io: describe,
        budget: options.maxInFlight * count,
        workers: workers * count,
        feed: { threads: views },
        tracing: tracingWanted(options, process.env),
        registry: metrics?.registry,
      });
    }
    threads = new Supervisor({
      options,
      count,
      workers,
      collectMetrics: metrics !== undefined,
      restartable: options.kafka !== undefined || options.checkpoints !== undefined,
      log: (text) => output.err(text),
      limits: threadLimits({ maxRecords: options.maxRecords, backlog }),
      // A thread took the run's last record, or every partition was read to its backlog end: drain and stop.
      onLimit: (message) => (message.type === 'limit' ? threads?.stop(options.drain) : caughtUp?.reached(message.partition)),
      publisher,
      ui: options.ui === undefined ? undefined : { redact: options.ui.redact, intervalMs: 1000 },
      onView: (thread, view) => views?.offer(thread, view),
    });
    threads.start();
    dashboard?.follow(threads);
    if (backlog !== undefined) caughtUp = new BacklogWatch(backlog, () => threads?.stop(options.drain));
    if (signals.requested) threads.stop(options.drain);
    threads.started.then((lines) => {
      describe.push(...lines);
      [...describe, ...(metrics === undefined ? [] : [`metrics: ${metrics.url}`]), ...(dashboard === undefined ? [] : [dashboard.describe()])].forEach((line) => output.err(`${line}\n`));
    });
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
    await dashboard?.close();
    await metrics?.close();
  }
}

/**
 * Output and dead-letter files start empty once here; the threads append to them. Exactly-once
 * files only when no thread has a checkpoint to resume from: otherwise they hold committed
 * output, and each thread's recovery takes back what its own checkpoint does not cover.
 */
async function startFilesAfresh(binding: Binding, options: RunOptions, publisher: Publisher | undefined, count: number): Promise<void> {
  if (publisher !== undefined && options.checkpoints?.kind === 'directory' && (await anyCheckpoint(options.checkpoints.directory, count))) return;
  for (const sink of [...Object.values(binding.sinks), binding.deadLetterSink]) {
    const path = (sink as { path?: unknown }).path;
    if (typeof path !== 'string') continue;
    if (publisher !== undefined) {
      await publisher.run({ op: 'startAfresh', path });
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '');
  }
}

async function anyCheckpoint(directory: string, count: number): Promise<boolean> {
  for (let index = 0; index < count; index += 1) {
    if ((await new FileCheckpointStore({ directory: join(directory, threadFolder(index, count)) }).list()).length > 0) return true;
  }
  return false;
}
