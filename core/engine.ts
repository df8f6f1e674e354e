import { Observable } from 'rxjs';
import { CheckpointCoordinator, type CheckpointOptions, type CheckpointPart } from './checkpoint/coordinator.ts';
import { CompletionTracker } from './completion.ts';
import { describeError, SluiceError } from './errors.ts';
import { InFlightBudget } from './flowControl.ts';
import type { InferenceService } from './inference.ts';
import { Instrumentation } from './instrumentation.ts';
import type { DeadLetter, JobContext, JobDefinition, RunEnvironment, Sink, SourceContext } from './job.ts';
import { LatencyHistogram, type LatencySummary } from './latency.ts';
import type { Envelope, SourceRecord } from './record.ts';
import { withValue } from './record.ts';
import { SinkWriter } from './sinkWriter.ts';
import { MemoryStateBackend, type StateBackend } from './state/backend.ts';
import { KeyedStateStore } from './state/keyedState.ts';

/** How to run a job: everything the runtime decided. */
export interface EngineOptions {
  readonly env: RunEnvironment;
  /** Records allowed inside the job at once (taken from the source, not yet done). */
  readonly maxInFlight: number;
  readonly inference: InferenceService;
  readonly deadLetterSink: Sink<DeadLetter>;
  readonly stateBackend?: StateBackend;
  readonly instrumentation?: Instrumentation;
  /** Most records per sink write. */
  readonly sinkBatchSize?: number;
  /** How long a stop may take to drain before it gives up with an error. */
  readonly drainTimeoutMs?: number;
  /** Consistent checkpoints of state and positions; restored on start. Off when absent. */
  readonly checkpoints?: CheckpointOptions;
}

/** Live counters of a running job. */
export interface JobStats {
  readonly in: number;
  readonly out: number;
  readonly deadLettered: number;
  /** Records done without output (filtered) */
  readonly dropped: number;
  readonly inFlight: number;
  readonly peakInFlight: number;
  /** Replayed records skipped because the restored checkpoint already reflects them. */
  readonly skipped: number;
  readonly checkpoints: number;
  /** Output records for which the job's `countAs` test was true. */
  readonly counted: number;
  readonly elapsedMs: number;
  readonly latency: LatencySummary;
}

/** A job that is running. */
export interface RunningJob {
  /** Resolves with the final stats once the job drained and closed; rejects if it failed. */
  readonly done: Promise<JobStats>;
  /** Stops fetching, drains what is in flight, flushes sinks, commits. Safe to call twice. */
  stop(): void;
  stats(): JobStats;
  readonly instrumentation: Instrumentation;
  readonly state: KeyedStateStore;
}

/**
 * Runs a job: source → the job's operator graph → sink, with the in-flight budget between
 * source and sink, completion tracking for commits and a dead-letter route.
 *
 * @example
 * const running = runJob(job, { env, maxInFlight: 10_000, inference, deadLetterSink });
 * process.once('SIGTERM', () => running.stop());
 * const stats = await running.done;
 */
export function runJob<In, Out>(job: JobDefinition<In, Out>, options: EngineOptions): RunningJob {
  return new Engine(job, options).start();
}

class Engine<In, Out> {
  readonly #job: JobDefinition<In, Out>;
  readonly #options: EngineOptions;
  readonly #budget: InFlightBudget;
  readonly #tracker: CompletionTracker;
  readonly #instrumentation: Instrumentation;
  readonly #state: KeyedStateStore;
  readonly #latency = new LatencyHistogram();
  readonly #stopping = new AbortController();
  readonly #parts = new Map<string, CheckpointPart>();
  #checkpoints: CheckpointCoordinator | undefined;
  readonly #startedAt = performance.now();
  #in = 0;
  #out = 0;
  #deadLettered = 0;
  /** Dead letters of records that also went to the sink (a model fallback). */
  #deadLetteredWithOutput = 0;
  #done = 0;
  #counted = 0;
  #failure: unknown;

  constructor(job: JobDefinition<In, Out>, options: EngineOptions) {
    this.#job = job;
    this.#options = options;
    this.#budget = new InFlightBudget(options.maxInFlight);
    this.#tracker = new CompletionTracker(() => {
      this.#done += 1;
      this.#budget.give();
    });
    this.#instrumentation = options.instrumentation ?? new Instrumentation();
    this.#state = new KeyedStateStore(options.stateBackend ?? new MemoryStateBackend(), options.env.clock);
  }

  start(): RunningJob {
    const done = this.#run();
    return {
      done,
      stop: () => this.#stop(),
      stats: () => this.#stats(),
      instrumentation: this.#instrumentation,
      state: this.#state,
    };
  }

  #stop(): void {
    if (!this.#stopping.signal.aborted) this.#stopping.abort();
  }

  #fail(error: unknown): void {
    if (this.#failure === undefined) this.#failure = error;
    this.#stop();
  }

  async #run(): Promise<JobStats> {
    const { env } = this.#options;
    const source = this.#job.source(env);
    const sink = this.#job.sink(env);
    const deadLetterSink = this.#options.deadLetterSink;
    const countAs = this.#job.countAs;
    const instrumentation = this.#instrumentation;

    const writer = new SinkWriter<Out>(sink, {
      maxBatch: this.#options.sinkBatchSize ?? 1000,
      onWritten: (records, startedAt) => {
        const now = performance.now();
        for (const record of records) {
          this.#latency.record(now - record.receivedAt);
          if (countAs !== undefined && countAs.test(record.value)) this.#counted += 1;
        }
        this.#out += records.length;
        if (instrumentation.wants('sink.written')) instrumentation.emit('sink.written', { sink: sink.name, records, startedAt, endedAt: now });
        for (const record of records) record.ticket.release();
      },
      onError: (error) => this.#fail(new SluiceError(`sink "${sink.name}" failed: ${describeError(error)}`, { cause: error })),
    });
    const deadLetters = new SinkWriter<DeadLetter>(deadLetterSink, {
      maxBatch: 1000,
      onWritten: (records) => {
        this.#deadLettered += records.length;
        for (const record of records) record.ticket.release();
      },
      onError: (error) => this.#fail(new SluiceError(`dead-letter sink "${deadLetterSink.name}" failed: ${describeError(error)}`, { cause: error })),
    });

    const sendToDeadLetter = (record: Envelope<unknown>, reason: string, stage: string, value: unknown): void => {
      const letter: DeadLetter = {
        reason,
        stage,
        topic: record.position.topic,
        partition: record.position.partition,
        offset: record.position.offset,
        key: record.key,
        original: record.original,
        value,
        at: Date.now(),
      };
      if (instrumentation.wants('record.deadLettered')) instrumentation.emit('record.deadLettered', { stage, reason, record });
      deadLetters.push(withValue(record, letter));
    };

    const context: JobContext = {
      jobName: this.#job.name,
      env,
      state: this.#state,
      clock: env.clock,
      inference: this.#options.inference,
      instrumentation,
      deadLetter: (record, reason, stage, options) => {
        if (options?.alsoOutput === true) this.#deadLetteredWithOutput += 1;
        sendToDeadLetter(record, reason, stage, record.value);
      },
      checkpointed: (name, part) => {
        if (this.#parts.has(name)) throw new SluiceError(`two stateful operators are checkpointed as "${name}": give each a name of its own`);
        this.#parts.set(name, part);
      },
    };

    const input$ = new Observable<Envelope<In>>((subscriber) => {
      const sourceContext = this.#sourceContext<In>((record) => subscriber.next(record), sendToDeadLetter);
      source.run(sourceContext).then(
        () => subscriber.complete(),
        (error: unknown) => subscriber.error(error instanceof SluiceError ? error : new SluiceError(`source "${source.name}" failed: ${describeError(error)}`, { cause: error })),
      );
    });

    const pipeline = this.#job.pipeline(context);
    // Models load in every worker before the first record, so its latency is not a session start.
    await this.#options.inference.ready?.();
    if (this.#options.checkpoints !== undefined) {
      // Restore before the first record, so state and positions move together.
      this.#checkpoints = new CheckpointCoordinator(this.#options.checkpoints, { budget: this.#budget, tracker: this.#tracker, state: this.#state.backend, parts: this.#parts });
      await this.#checkpoints.restore();
      this.#checkpoints.start();
    }
    await new Promise<void>((resolve) => {
      input$.pipe(pipeline).subscribe({
        next: (record) => writer.push(record),
        error: (error: unknown) => {
          this.#fail(error);
          resolve();
        },
        complete: () => resolve(),
      });
    });

    await writer.drain();
    await deadLetters.drain();
    await this.#awaitDrained();
    await sink.flush?.();
    await deadLetterSink.flush?.();
    if (this.#checkpoints !== undefined) {
      await this.#checkpoints.stop();
      // A last checkpoint of the drained job, so a restart does not replay what was finished.
      if (this.#failure === undefined) await this.#checkpoints.checkpoint();
    }
    await source.close?.();
    await this.#checkpoints?.close();
    await sink.close?.();
    await deadLetterSink.close?.();
    if (this.#failure !== undefined) throw this.#failure;
    return this.#stats();
  }

  #sourceContext<T>(
    next: (record: Envelope<T>) => void,
    sendToDeadLetter: (record: Envelope<unknown>, reason: string, stage: string, value: unknown) => void,
  ): SourceContext<T> {
    const budget = this.#budget;
    const instrumentation = this.#instrumentation;
    const admit = <V>(record: SourceRecord<V>): Envelope<V> => {
      budget.take();
      this.#in += 1;
      return {
        key: record.key,
        value: record.value,
        timestamp: record.timestamp ?? Date.now(),
        position: record.position,
        headers: record.headers ?? {},
        trace: record.trace,
        receivedAt: performance.now(),
        original: record.original,
        ticket: this.#tracker.track(record.position),
      };
    };
    // Admits a record when the budget has room and no checkpoint is being captured; otherwise
    // returns the promise to wait on (and admits the record when it resolves).
    const offer = (record: SourceRecord<unknown>, enter: (envelope: Envelope<unknown>) => void): Promise<void> | undefined => {
      const gate = this.#checkpoints?.gate;
      if (gate !== undefined) return gate.then(() => offer(record, enter));
      if (budget.isFull) return budget.whenAvailable().then(() => offer(record, enter));
      if (this.#checkpoints?.skip(record.position) === true) return undefined;
      enter(admit(record));
      return undefined;
    };
    const enterPipeline = next as (envelope: Envelope<unknown>) => void;
    const checkpointing = () => this.#checkpoints !== undefined;
    return {
      emit: (record) => offer(record, enterPipeline),
      deadLetter: (record, reason) => offer(record, (envelope) => sendToDeadLetter(envelope, reason, 'decode', undefined)),
      signal: this.#stopping.signal,
      committable: (topic, partition) =>
        this.#checkpoints === undefined ? this.#tracker.committable(topic, partition) : this.#checkpoints.committable(topic, partition),
      pending: (topic, partition) => this.#tracker.pending(topic, partition),
      drained: async (topic, partition, timeoutMs) => {
        const deadline = performance.now() + timeoutMs;
        while (this.#tracker.pending(topic, partition) > 0) {
          if (performance.now() >= deadline) return false;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return true;
      },
      forget: (topic, partition) => this.#tracker.forget(topic, partition),
      assigned: async (partitions) => this.#checkpoints?.assign(partitions),
      revoked: (partitions) => this.#checkpoints?.revoke(partitions),
      get checkpointing() {
        return checkpointing();
      },
      requestCheckpoint: () => this.#checkpoints?.request(),
      onBackpressure: (listener) => budget.listen(listener),
      maxInFlight: budget.capacity,
      instrumentation,
    };
  }

  async #awaitDrained(): Promise<void> {
    const timeoutMs = this.#options.drainTimeoutMs ?? 60_000;
    const drained = this.#budget.whenEmpty();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([drained.then(() => 'drained' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const open = [...this.#tracker.partitions()].filter((p) => p.pending > 0).map((p) => `${p.topic}[${p.partition}]: ${p.pending}`);
      this.#fail(new SluiceError(`job did not drain within ${timeoutMs} ms; records still open: ${open.join(', ')}`));
    }
  }

  #stats(): JobStats {
    return {
      in: this.#in,
      out: this.#out,
      deadLettered: this.#deadLettered,
      dropped: this.#done - this.#out - (this.#deadLettered - this.#deadLetteredWithOutput),
      inFlight: this.#budget.used,
      peakInFlight: this.#budget.peak,
      skipped: this.#checkpoints?.skipped ?? 0,
      checkpoints: this.#checkpoints?.taken ?? 0,
      counted: this.#counted,
      elapsedMs: performance.now() - this.#startedAt,
      latency: this.#latency.summary(),
    };
  }
}
