import { Worker } from 'node:worker_threads';
import type { Publisher } from '../../connectors/filePublisher.ts';
import type { JobStats } from '../../core/engine/engine.ts';
import { describeError, SluiceError } from '../../core/errors.ts';
import type { EventTimeSummary } from '../eventLatency.ts';
import type { PartitionLag } from '../progress.ts';
import type { RunOptions } from '../runCommand.ts';
import { mergeEventTime, mergeLag, mergeStats } from './mergeStats.ts';
import { answerPublish } from './publishThroughMain.ts';
import type { FromThread, LimitMessage, ThreadData, ThreadMetrics, ThreadReport, ToThread } from './protocol.ts';
import type { ThreadLimits } from './threadLimits.ts';
import type { MetricsView } from '../ui/api.ts';
import type { ThreadUi } from './threadDashboard.ts';
import { workerExecArgv } from '../workerExecArgv.ts';

/** What the supervisor needs to start and watch the threads. */
export interface SupervisorOptions {
  readonly options: RunOptions;
  readonly count: number;
  /** Inference workers per thread. */
  readonly workers: number;
  readonly collectMetrics: boolean;
  /**
   * A failed thread is restarted when its work can resume where it was: positions are committed
   * to Kafka or checkpointed. Otherwise (an embedded run without checkpoints) a restart would
   * redo its whole share, so the job fails instead.
   */
  readonly restartable: boolean;
  /** Operator-facing text (already newline-terminated), from the supervisor and the threads. */
  readonly log: (text: string) => void;
  /** Failures of one thread within a minute before the job gives up. Default 3. */
  readonly maxRestarts?: number;
  /** `--max-records` / `--until-caught-up`: what the threads share, and who hears them reach it. */
  readonly limits?: ThreadLimits | undefined;
  readonly onLimit?: (message: LimitMessage) => void;
  /** Embedded exactly-once: the one writer of the output files the threads share. */
  readonly publisher?: Publisher | undefined;
  /** `--ui`: threads send views of their pipelines, handed to `onView` (undefined: that thread ended). */
  readonly ui?: ThreadUi | undefined;
  readonly onView?: (thread: number, view: MetricsView | undefined) => void;
}

/** What a run of stream threads did, merged. */
export interface ThreadsDone {
  readonly stats: JobStats;
  readonly eventTime: EventTimeSummary;
  /** Threads that failed and were started again. */
  readonly restarts: number;
}

/**
 * A stream thread allocates a few objects per record and nearly all die young; V8's default young
 * generation fills every few ms at 50,000 records/s, and two threads' scavenges then keep the
 * process's GC helper threads busy. A 128 MB young generation measured +4 to +18 % for
 * `--parallelism 2` on the embedded fraud job, 4 rounds (docs/performance.md); the space grows to
 * it only under that allocation rate.
 */
const STREAM_THREAD_LIMITS = { maxYoungGenerationSizeMb: 128 } as const;

/** One thread slot: its current worker and what its earlier, failed workers had done. */
interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  report: ThreadReport | undefined;
  /** Reports of failed workers of this slot: their records count in the totals. */
  readonly retired: ThreadReport[];
  /** When this slot's restarts happened (ms), for the restart limit. */
  readonly restartedAt: number[];
  everStarted: boolean;
  finished: boolean;
}

const RESTART_DELAY_MS = 500;
const THREAD_MAIN = new URL('./threadMain.ts', import.meta.url).href;
const TSX_API = import.meta.resolve('tsx/esm/api');
const EXIT_GRACE_MS = 5000;

/**
 * The main thread's side of `--parallelism N`: starts N stream threads, passes stop and SIGHUP
 * on, restarts a thread that fails (when its positions are durable), and merges their counters.
 * A thread that fails before its job started is not restarted: that is a configuration error
 * (a missing model, a bad setting) that another attempt would repeat.
 *
 * @example
 * const threads = new Supervisor({ options, count: 2, workers: 1, collectMetrics: false, restartable: true, log });
 * threads.start();
 * process.once('SIGTERM', () => threads.stop(false));
 * const { stats, eventTime, restarts } = await threads.done;
 */
export class Supervisor {
  readonly #config: SupervisorOptions;
  readonly #slots: Slot[];
  readonly #startedAt = performance.now();
  #stopping: { drain: boolean } | undefined;
  #failure: string | undefined;
  #restarts = 0;
  #metricsId = 0;
  readonly #metricsWaiters = new Map<number, (metrics: ThreadMetrics) => void>();
  #resolveDone!: (result: ThreadsDone) => void;
  #rejectDone!: (error: Error) => void;
  /** Resolves with the merged final stats once every thread ended; rejects if the job failed. */
  readonly done = new Promise<ThreadsDone>((resolve, reject) => {
    this.#resolveDone = resolve;
    this.#rejectDone = reject;
  });
  #resolveStarted!: (describe: readonly string[]) => void;
  /** Resolves once every thread's job started, with the first thread's telemetry lines. */
  readonly started = new Promise<readonly string[]>((resolve) => (this.#resolveStarted = resolve));
  #describe: readonly string[] = [];

  constructor(config: SupervisorOptions) {
    this.#config = config;
    this.#slots = Array.from({ length: config.count }, (_, index) => ({ index, worker: undefined, report: undefined, retired: [], restartedAt: [], everStarted: false, finished: false }));
    this.done.catch(() => {});
  }

  start(): void {
    for (const slot of this.#slots) this.#spawn(slot);
  }

  /** Stops every thread: they stop fetching, drain, flush and commit. */
  stop(drain: boolean): void {
    this.#stopping ??= { drain };
    this.#send({ type: 'stop', drain });
  }

  /** Passes SIGHUP on (registry models re-read their pins). */
  hangup(): void {
    this.#send({ type: 'hangup' });
  }

  /** The merged counters now, failed threads' work included. */
  stats(): JobStats {
    return mergeStats(this.#reports(), performance.now() - this.#startedAt);
  }

  /** The merged event-time latency now, failed threads' work included. */
  eventTime(): EventTimeSummary {
    return mergeEventTime(this.#reports());
  }

  /** The consumer lag of each partition the live threads read now. */
  lag(): PartitionLag {
    return mergeLag(this.#slots.flatMap((slot) => (slot.report === undefined || slot.finished ? [] : [slot.report])));
  }

  /** Every live thread's Prometheus metrics (a thread that does not answer within 2 s is left out). */
  async metrics(): Promise<ThreadMetrics[]> {
    const asks = this.#slots
      .filter((slot) => slot.worker !== undefined && !slot.finished)
      .map(
        (slot) =>
          new Promise<ThreadMetrics>((resolve) => {
            const id = (this.#metricsId += 1);
            const timer = setTimeout(() => {
              this.#metricsWaiters.delete(id);
              resolve([]);
            }, 2000);
            this.#metricsWaiters.set(id, (metrics) => {
              clearTimeout(timer);
              this.#metricsWaiters.delete(id);
              resolve(metrics);
            });
            slot.worker!.postMessage({ type: 'metrics', id } satisfies ToThread);
          }),
      );
    return Promise.all(asks);
  }

  #reports(): ThreadReport[] {
    return this.#slots.flatMap((slot) => (slot.report === undefined ? slot.retired : [...slot.retired, slot.report]));
  }

  #send(message: ToThread): void {
    for (const slot of this.#slots) if (!slot.finished) slot.worker?.postMessage(message);
  }

  #spawn(slot: Slot): void {
    const data: ThreadData = { options: this.#config.options, index: slot.index, count: this.#config.count, workers: this.#config.workers, collectMetrics: this.#config.collectMetrics, limits: this.#config.limits, ui: this.#config.ui };
    // The entry is a one-line script that loads the TypeScript module through tsx's API: on
    // Node 20 the `--import tsx` a worker inherits does not reach the worker's own imports.
    const entry = `import(${JSON.stringify(TSX_API)}).then((tsx) => tsx.tsImport(${JSON.stringify(THREAD_MAIN)}, ${JSON.stringify(import.meta.url)}))`;
    const worker = new Worker(entry, { eval: true, workerData: data, name: `sluice stream thread ${slot.index + 1}`, execArgv: workerExecArgv(), resourceLimits: STREAM_THREAD_LIMITS });
    slot.worker = worker;
    slot.report = undefined;
    let over = false;
    // Each worker ends once: done, failed (its own report, an uncaught error, or a bare exit).
    const end = (failure: string | undefined, report: ThreadReport | undefined) => {
      if (over) return;
      over = true;
      if (report !== undefined) slot.report = report;
      this.#config.onView?.(slot.index, undefined);
      // A worker that does not leave by itself (a library's stray timer) is ended.
      const grace = setTimeout(() => void worker.terminate(), failure === undefined ? EXIT_GRACE_MS : 0);
      grace.unref();
      worker.once('exit', () => clearTimeout(grace));
      if (failure === undefined) this.#finish(slot);
      else this.#failed(slot, failure);
    };
    worker.on('message', (message: FromThread) => {
      switch (message.type) {
        case 'log':
          this.#config.log(message.text);
          break;
        case 'stats':
          if (!over) slot.report = message.report;
          break;
        case 'started':
          slot.everStarted = true;
          if (slot.index === 0) this.#describe = message.describe;
          if (this.#slots.every((s) => s.everStarted)) this.#resolveStarted(this.#describe);
          break;
        case 'metrics':
          this.#metricsWaiters.get(message.id)?.(message.metrics);
          break;
        case 'done':
          end(undefined, message.report);
          break;
        case 'failed':
          end(message.message, message.report);
          break;
        case 'limit':
        case 'caughtUp':
          this.#config.onLimit?.(message);
          break;
        case 'view':
          if (!over) this.#config.onView?.(slot.index, message.view);
          break;
        case 'publish':
          answerPublish(this.#config.publisher, message, (answer) => worker.postMessage(answer));
          break;
      }
    });
    worker.on('error', (error: unknown) => end(`uncaught ${error instanceof Error ? `${error.name}: ${error.message}` : describeError(error)}`.split('\n')[0]!, undefined));
    worker.on('exit', (code) => end(`the thread exited (code ${code}) without finishing its job`, undefined));
    if (this.#stopping !== undefined) worker.postMessage({ type: 'stop', ...this.#stopping } satisfies ToThread);
  }

  #failed(slot: Slot, reason: string): void {
    const name = `stream thread ${slot.index + 1} of ${this.#config.count}`;
    if (slot.report !== undefined) slot.retired.push({ ...slot.report, lag: [], stats: { ...slot.report.stats, inFlight: 0 } });
    slot.report = undefined;
    const now = performance.now();
    const recent = slot.restartedAt.filter((at) => now - at < 60_000).length;
    const limit = this.#config.maxRestarts ?? 3;
    if (this.#config.restartable && slot.everStarted && this.#stopping === undefined && this.#failure === undefined && recent < limit) {
      slot.restartedAt.push(now);
      this.#restarts += 1;
      this.#config.log(`sluice: ${name} failed: ${reason} — restarting it (its records since the last commit are read again)\n`);
      setTimeout(() => this.#spawn(slot), RESTART_DELAY_MS);
      return;
    }
    const why = !this.#config.restartable
      ? ' (an embedded run without --checkpoint-dir cannot resume a thread\'s share, so the job stops)'
      : recent >= limit
        ? ` (${recent} restarts within a minute: giving up)`
        : '';
    // A failure to start (a missing model, a bad setting) reads as it does with one thread.
    this.#failure ??= slot.everStarted ? `${name} failed${why}: ${reason}` : reason;
    slot.finished = true;
    // The other threads stop cleanly: they commit what they finished, and a restart goes on from there.
    this.stop(false);
    this.#settle();
  }

  #finish(slot: Slot): void {
    slot.finished = true;
    this.#settle();
  }

  #settle(): void {
    if (!this.#slots.every((slot) => slot.finished)) return;
    // A job that ran to its end started (threads that finish at once never said so); a failed start did not.
    if (this.#failure === undefined) this.#resolveStarted(this.#describe);
    if (this.#failure !== undefined) this.#rejectDone(new SluiceError(this.#failure));
    else this.#resolveDone({ stats: this.stats(), eventTime: this.eventTime(), restarts: this.#restarts });
  }
}
