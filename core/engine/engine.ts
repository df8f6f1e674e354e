import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
export type { EngineOptions, JobStats, RunningJob, StopOptions } from './types.ts';
import { CheckpointCoordinator, type CheckpointPart } from '../checkpoint/coordinator.ts';
import { systemClock, type Clock } from '../clock.ts';
import { CompletionTracker } from '../completion.ts';
import type { Job } from '../defineJob.ts';
import { describeError, SluiceError } from '../errors.ts';
import { InFlightBudget } from '../flowControl.ts';
import type { InferenceService } from '../inference.ts';
import { Instrumentation } from '../instrumentation.ts';
import { MemoryStateBackend } from '../state/backend.ts';
import { KeyedStateStore } from '../state/keyedState.ts';
import type { Stream } from '../streams.ts';
import { Admission, drainedWithin } from './admission.ts';
import type { EngineOptions, JobStats, RunningJob, StopOptions } from './types.ts';
import { withOperatorContext, type OperatorContext } from './operatorContext.ts';
import { Outputs } from './output.ts';

/**
 * Runs a job: its sources → its operator graph → its sinks, with the in-flight budget between
 * them, completion tracking for commits, a dead-letter route and, when asked, checkpoints.
 *
 * @example
 * const running = runJob(job, { sources: { transactions: source }, sinks: { decisions: sink }, deadLetterSink, settings: {}, maxInFlight: 10_000 });
 * process.once('SIGTERM', () => running.stop());
 * const stats = await running.done;
 */
export function runJob(job: Job, options: EngineOptions): RunningJob {
  return new Engine(job, options).start();
}

class Engine {
  readonly #job: Job;
  readonly #options: EngineOptions;
  readonly #budget: InFlightBudget;
  readonly #tracker: CompletionTracker;
  readonly #instrumentation: Instrumentation;
  readonly #state: KeyedStateStore;
  readonly #scheduler: SchedulerLike;
  readonly #clock: Clock;
  readonly #stopping = new AbortController();
  readonly #parts = new Map<string, CheckpointPart>();
  readonly #stages = new Map<string, number>();
  readonly #stageNames: string[] = [];
  readonly #admission: Admission;
  readonly #outputs: Outputs;
  readonly #startedAt = performance.now();
  #checkpoints: CheckpointCoordinator | undefined;
  #done = 0;
  #lastDoneAt: number | undefined;
  #doneStampDue = false;
  readonly #stampDone = (): void => {
    this.#doneStampDue = false;
    this.#lastDoneAt = performance.now();
  };
  #failure: unknown;
  #onFailure: (() => void) | undefined;
  #failedWith!: (error: unknown) => void;
  readonly #failed = new Promise<unknown>((resolve) => (this.#failedWith = resolve));
  #markStarted!: (ok: boolean) => void;
  readonly #started = new Promise<void>((resolve, reject) => {
    this.#markStarted = (ok) => (ok ? resolve() : reject(new SluiceError('the job did not start')));
  });
  /** Set by stop(): what operators holding records do at the end. */
  #atEnd: 'fire' | 'keep' = 'fire';
  #stopStep: string | undefined;

  constructor(job: Job, options: EngineOptions) {
    this.#job = job;
    this.#options = options;
    this.#budget = new InFlightBudget(options.maxInFlight);
    this.#tracker = new CompletionTracker(() => {
      this.#done += 1;
      this.#budget.give();
      // Read the clock once the run that finished records ends, not once per record.
      if (!this.#doneStampDue) {
        this.#doneStampDue = true;
        queueMicrotask(this.#stampDone);
      }
    });
    this.#instrumentation = options.instrumentation ?? new Instrumentation();
    this.#scheduler = options.scheduler ?? asyncScheduler;
    this.#clock = options.clock ?? (options.scheduler === undefined ? systemClock : { now: () => this.#scheduler.now() });
    this.#state = new KeyedStateStore(options.stateBackend ?? new MemoryStateBackend(), this.#clock);
    const countAs = job.countAs?.test;
    this.#outputs = new Outputs({
      sinks: options.sinks,
      deadLetterSink: options.deadLetterSink,
      instrumentation: this.#instrumentation,
      sinkBatchSize: options.sinkBatchSize,
      countAs,
      fail: (error) => this.#fail(error),
    });
    this.#admission = new Admission({
      budget: this.#budget,
      tracker: this.#tracker,
      instrumentation: this.#instrumentation,
      signal: this.#stopping.signal,
      checkpoints: () => this.#checkpoints,
      deadLetter: (record, reason, stage) => this.#outputs.deadLetter(record, reason, stage),
      clock: this.#clock,
    });
  }

  start(): RunningJob {
    const done = this.#run();
    return {
      done,
      started: this.#started,
      stop: (options) => this.#stop(options),
      fail: (error) => this.#fail(error),
      failed: this.#failed,
      stopStep: () => this.#stopStep,
      stats: () => this.#stats(),
      latency: this.#outputs.latency,
      stages: () => [...this.#stageNames],
      instrumentation: this.#instrumentation,
      state: this.#state,
    };
  }

  #stop(options: StopOptions = {}): void {
    if (this.#stopping.signal.aborted) return;
    // A stop that a checkpoint will resume keeps open windows; with nothing to resume from, or
    // when told to drain, they fire now (their results would be lost otherwise).
    this.#atEnd = options.drain === true || this.#options.checkpoints === undefined ? 'fire' : 'keep';
    this.#stopping.abort();
  }

  #fail(error: unknown): void {
    if (this.#failure === undefined) this.#failure = error;
    this.#failedWith(this.#failure);
    this.#stop();
    this.#onFailure?.();
  }

  async #run(): Promise<JobStats> {
    const subscriptions: Subscription[] = [];
    let begin!: () => void;
    const started = new Promise<void>((resolve) => (begin = resolve));
    const completed = this.#subscribe(started, subscriptions);
    try {
      // Models load in every worker before the first record, so its latency is not a session start.
      await this.#options.inference?.ready?.();
      if (this.#options.checkpoints !== undefined) {
        // Restore after the operators registered their state and before the first record, so
        // state and positions move together.
        const scheduled = this.#options.scheduler === undefined ? this.#options.checkpoints : { ...this.#options.checkpoints, scheduler: this.#scheduler };
        this.#checkpoints = new CheckpointCoordinator(scheduled, { budget: this.#budget, tracker: this.#tracker, state: this.#state.backend, parts: this.#parts, fail: (error) => this.#fail(error) });
        await this.#checkpoints.restore();
        this.#checkpoints.start();
      }
    } catch (error) {
      this.#fail(error);
    }
    this.#started.catch(() => {});
    this.#markStarted(this.#failure === undefined);
    if (this.#failure === undefined) begin();
    else this.#stopping.abort();
    // A failure ends the wait at once: records stuck in a failed stage will never complete.
    const failed = new Promise<void>((resolve) => (this.#onFailure = resolve));
    if (this.#failure !== undefined) this.#onFailure?.();
    await Promise.race([completed, failed]);
    for (const subscription of subscriptions) subscription.unsubscribe();
    await this.#shutDown();
    if (this.#failure !== undefined) throw this.#failure;
    return this.#stats();
  }

  /** The stop, in named steps: a stop that hangs says which one it waits in (`stopStep`). */
  async #shutDown(): Promise<void> {
    const ok = () => this.#failure === undefined;
    const steps: Array<readonly [string, () => Promise<unknown> | undefined]> = [
      ['writing what the outputs hold', () => this.#outputs.drain()],
      // A failed job does not wait for records that will never finish: it stops at once, and
      // commits only what was done (a restart reads the rest again).
      ['waiting for the records in flight', () => (ok() ? this.#awaitDrained() : undefined)],
      ['flushing the outputs', () => this.#outputs.flush()],
      ['finishing the checkpoint under way', () => this.#checkpoints?.stop()],
      // A last checkpoint of the drained job, so a restart does not replay what was finished.
      ['taking the last checkpoint', () => (ok() ? this.#checkpoints?.checkpoint() : undefined)],
      ...Object.entries(this.#options.sources).map(([name, source]) => [`closing input ${name} (${source.name})`, () => source.close?.()] as const),
      ['closing the checkpoint store', () => this.#checkpoints?.close()],
      ['closing the outputs and the dead-letter sink', () => this.#outputs.close()],
    ];
    for (const [step, run] of steps) {
      this.#stopStep = step;
      await run();
    }
    this.#stopStep = undefined;
  }

  /** Builds the operator graph with the job's context lent to its operators, and subscribes every output. */
  #subscribe(started: Promise<void>, subscriptions: Subscription[]): Promise<void> {
    const inputs: Record<string, Stream<unknown>> = {};
    for (const [name, source] of Object.entries(this.#options.sources)) inputs[name] = this.#admission.input(name, source, started);
    let remaining = 0;
    return new Promise<void>((resolve) => {
      withOperatorContext(this.#context(), () => {
        let streams: Record<string, Stream<unknown>>;
        try {
          streams = this.#job.build(inputs, this.#options.settings);
        } catch (error) {
          this.#fail(error instanceof SluiceError ? error : new SluiceError(`job ${this.#job.name}: pipeline() failed: ${describeError(error).split('\n')[0]}`, { cause: error }));
          resolve();
          return;
        }
        const entries = Object.entries(streams);
        remaining = entries.length;
        for (const [name, stream] of entries) {
          const writer = this.#outputs.writer(name);
          subscriptions.push(
            stream.subscribe({
              next: (record) => writer.push(record),
              error: (error: unknown) => {
                this.#fail(error);
                resolve();
              },
              complete: () => {
                remaining -= 1;
                if (remaining === 0) resolve();
              },
            }),
          );
        }
      });
    });
  }

  #context(): OperatorContext {
    const outputs = this.#outputs;
    const inference = this.#options.inference;
    return {
      jobName: this.#job.name,
      state: this.#state,
      scheduler: this.#scheduler,
      clock: this.#clock,
      instrumentation: this.#instrumentation,
      get inference(): InferenceService {
        if (inference === undefined) throw new SluiceError('this run has no model pool: infer() needs `sluice run` or testDriver()');
        return inference;
      },
      deadLetter: (record, reason, stage, options) => outputs.deadLetter(record, reason, stage, options),
      checkpointed: (name, part) => {
        if (this.#parts.has(name)) throw new SluiceError(`two stateful operators are checkpointed as "${name}": give each a stage name of its own`);
        this.#parts.set(name, part);
      },
      atEnd: () => this.#atEnd,
      uniqueStage: (base) => {
        const seen = (this.#stages.get(base) ?? 0) + 1;
        this.#stages.set(base, seen);
        const stage = seen === 1 ? base : `${base}-${seen}`;
        this.#stageNames.push(stage);
        return stage;
      },
    };
  }

  async #awaitDrained(): Promise<void> {
    const open = await drainedWithin(this.#budget, this.#tracker, this.#options.drainTimeoutMs ?? 60_000);
    if (open !== undefined) this.#fail(new SluiceError(`job did not drain within ${this.#options.drainTimeoutMs ?? 60_000} ms; records still open: ${open}`));
  }

  #stats(): JobStats {
    const outputs = this.#outputs;
    const firstIn = this.#admission.firstInAt;
    return {
      in: this.#admission.admitted,
      out: outputs.out,
      deadLettered: outputs.deadLettered,
      dropped: this.#done - outputs.out - (outputs.deadLettered - outputs.deadLetteredWithOutput),
      inFlight: this.#budget.used,
      peakInFlight: this.#budget.peak,
      skipped: this.#checkpoints?.skipped ?? 0,
      checkpoints: this.#checkpoints?.taken ?? 0,
      counted: outputs.counted,
      elapsedMs: performance.now() - this.#startedAt,
      activeMs: firstIn === undefined || this.#lastDoneAt === undefined ? 0 : Math.max(0, this.#lastDoneAt - firstIn),
      latency: outputs.latency.summary(),
    };
  }
}
