// The entry of one stream thread (a worker_thread started by the supervisor): the job's pipeline
// with its own sources, sinks, keyed state, checkpoints and inference pool, reporting to the
// main thread. What it is given and says is in protocol.ts.
import { join } from 'node:path';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { runJob, type RunningJob } from '../../core/engine/engine.ts';
import type { Source } from '../../core/job.ts';
import { resolveSettings } from '../../core/settings.ts';
import { bindIO } from '../bindIO.ts';
import { EventTimeLatency } from '../eventLatency.ts';
import { exactlyOnceRun } from '../exactlyOnce.ts';
import { boundFailedStop } from '../failedStop.ts';
import { LazyInference } from '../lazyInference.ts';
import { loadJob } from '../loadJob.ts';
import { trackLag, type PartitionLag } from '../progress.ts';
import { checkpointOptions, oneLine, type RunOptions, type RunOutput } from '../runCommand.ts';
import { startTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import { threadFolder, type FromThread, type ThreadData, type ThreadReport, type ToThread } from './protocol.ts';
import { limitThreadSources } from './threadLimits.ts';
import { PublishThroughMain } from './publishThroughMain.ts';
import { threadShare, watchFirst } from './threadShare.ts';
import { sendThreadViews } from './threadDashboard.ts';

/** How often a thread reports its counters (progress line, merged summary of a failed thread). */
const REPORT_EVERY_MS = 500;

const port: MessagePort = requirePort();
const data = workerData as ThreadData;
const post = (message: FromThread): void => port.postMessage(message);
const output: RunOutput = { err: (text) => post({ type: 'log', text }), isTTY: false };
// Embedded exactly-once: the main thread appends every thread's committed epochs to the shared files.
const publisher = new PublishThroughMain(post);

let running: RunningJob | undefined;
let stopAsked: { drain: boolean } | undefined;
let telemetry: Telemetry | undefined;
const eventTime = new EventTimeLatency();
let lag: PartitionLag | undefined;
let firstInAt: number | undefined;

port.on('message', (message: ToThread) => {
  if (message.type === 'stop') {
    stopAsked ??= { drain: message.drain };
    running?.stop({ drain: message.drain });
  } else if (message.type === 'published') {
    publisher.answer(message);
  } else if (message.type === 'hangup') {
    // Signals reach only the main thread; the inference pool listens for this one (model pins).
    process.emit('SIGHUP', 'SIGHUP');
  } else if (message.type === 'metrics') {
    const registry = telemetry?.metrics?.registry;
    // Through JSON: some metric objects carry functions (a collect callback), which a message cannot.
    (registry === undefined ? Promise.resolve([]) : registry.getMetricsAsJSON()).then(
      (metrics) => post({ type: 'metrics', id: message.id, metrics: JSON.parse(JSON.stringify(metrics)) as typeof metrics }),
      () => post({ type: 'metrics', id: message.id, metrics: [] }),
    );
  }
});

function report(): ThreadReport | undefined {
  if (running === undefined) return undefined;
  return { stats: running.stats(), latency: running.latency.encode(), firstInAt, eventTime: eventTime.encode(), lag: [...(lag?.values() ?? [])], at: Date.now() };
}

/** Checkpoints of this thread: a folder of its own under --checkpoint-dir (one writer per folder). */
function threadCheckpoints(options: RunOptions): RunOptions['checkpoints'] {
  const choice = options.checkpoints;
  if (choice?.kind !== 'directory') return choice;
  return { ...choice, directory: join(choice.directory, threadFolder(data.index, data.count)) };
}

async function main(): Promise<void> {
  const options: RunOptions = { ...data.options, checkpoints: threadCheckpoints(data.options) };
  const inference = new LazyInference({ workers: data.workers });
  let timer: NodeJS.Timeout | undefined;
  try {
    const job = await loadJob(options.jobPath);
    const settings = resolveSettings(job.settings, options.settings);
    // Exactly once on Kafka holds per thread as per process: the transactional ids follow the
    // input partitions (<group>-<topic>-<p>), so whichever thread is assigned p claims p's id,
    // which fences the previous owner, another thread of this process or not.
    const eos = exactlyOnceRun(options.guarantee, options.kafka, { publisher, writer: data.index });
    // The main thread started output files afresh; every thread appends its own lines.
    const binding = bindIO(job, { ...options, settings, outputMode: 'append', transactions: eos?.transactions, committedFiles: eos?.files });
    const slot = { index: data.index, count: data.count };
    const sources: Record<string, Source<unknown>> = {};
    for (const [name, source] of Object.entries(binding.sources)) {
      // Kafka's consumer group splits partitions among the threads; embedded sources split here.
      const share = options.kafka === undefined ? threadShare(source, slot) : source;
      sources[name] = watchFirst(share, (at) => (firstInAt ??= at));
    }
    const checkpoints = checkpointOptions(options, output, eos);
    telemetry = await startTelemetry({
      jobName: job.name,
      traceSample: options.traceSample,
      collectMetrics: data.collectMetrics,
      keysInSpans: options.traceKeys ?? true,
      pool: inference,
      warn: (line) => output.err(`sluice: ${line}\n`),
    });
    telemetry.instrumentation.on('sink.written', ({ records }) => {
      // The wall clock, as in trackEventTimeLatency: producers stamp events with it.
      eventTime.observe(records, Date.now());
    });
    lag = trackLag(telemetry.instrumentation);
    const ui = data.ui === undefined ? undefined : sendThreadViews(data.ui, { binding, telemetry, budget: options.maxInFlight, workers: data.workers, poolQueue: () => inference.queueSize, send: (view) => post({ type: 'view', view }) });
    // Run limits count this thread's share against one count of all threads; the main thread ends the run.
    const limited = limitThreadSources(sources, data.limits, post);
    running = runJob(job, {
      sources: telemetry.instrumentSources(limited),
      sinks: binding.sinks,
      deadLetterSink: binding.deadLetterSink,
      settings,
      maxInFlight: options.maxInFlight,
      inference,
      instrumentation: telemetry.instrumentation,
      ...(checkpoints === undefined ? {} : { checkpoints: ui?.watchCheckpoints(checkpoints) ?? checkpoints }),
    });
    telemetry.attach(running);
    ui?.attach(running);
    if (stopAsked !== undefined) running.stop(stopAsked);
    // A transaction that could not commit lost its outputs: this thread stops and fails at once
    // (no drain, no final checkpoint), and the supervisor restarts it from the last commit (or
    // fails the job past the restart limit).
    eos?.onFailure(() => running?.fail(eos.failure));
    boundFailedStop(running, (line) => output.err(`sluice: ${line}\n`));
    running.started.then(() => post({ type: 'started', describe: telemetry?.describe() ?? [] }), () => {});
    timer = setInterval(() => {
      const now = report();
      if (now !== undefined) post({ type: 'stats', report: now });
    }, REPORT_EVERY_MS);
    await running.done;
    clearInterval(timer);
    // Before 'done': the main thread keeps this last view of the thread's work.
    ui?.finish();
    if (eos?.failure !== undefined) throw eos.failure;
    const final = report()!;
    // Flush this thread's spans before saying done: the supervisor ends the run on 'done', and
    // spans still queued would reach the collector after the job said it finished, or never.
    await telemetry?.stop();
    telemetry = undefined;
    post({ type: 'done', report: final });
  } catch (error) {
    clearInterval(timer);
    post({ type: 'failed', message: oneLine(error), report: report() });
  } finally {
    await telemetry?.stop();
    await inference.close();
    port.close();
  }
}

function requirePort(): MessagePort {
  if (parentPort === null) throw new Error('runtime/threads/threadMain.ts runs as a worker thread of `sluice run --parallelism N`');
  return parentPort;
}

void main();
