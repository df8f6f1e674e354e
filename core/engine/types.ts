import type { SchedulerLike } from 'rxjs';
import type { CheckpointOptions } from '../checkpoint/coordinator.ts';
import type { Clock } from '../clock.ts';
import type { InferenceService } from '../inference.ts';
import type { Instrumentation } from '../instrumentation.ts';
import type { DeadLetter, Sink, Source } from '../job.ts';
import type { LatencyHistogram, LatencySummary } from '../latency.ts';
import type { StateBackend } from '../state/backend.ts';
import type { KeyedStateStore } from '../state/keyedState.ts';

// The engine's public face: what it is given, what it reports, what a running job offers.

/** How to run a job: everything the runtime decided. */
export interface EngineOptions {
  /** One source per declared input, by input name. */
  readonly sources: Readonly<Record<string, Source<unknown>>>;
  /** One sink per declared output, by output name. */
  readonly sinks: Readonly<Record<string, Sink<unknown>>>;
  readonly deadLetterSink: Sink<DeadLetter>;
  /** The job's settings, resolved (see `resolveSettings`). */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Records allowed inside the job at once (taken from the sources, not yet done). */
  readonly maxInFlight: number;
  /** The model pool; a job that never calls `infer` never touches it. */
  readonly inference?: InferenceService;
  readonly stateBackend?: StateBackend;
  readonly instrumentation?: Instrumentation;
  /** Runs every timer of the job (batch waits, idle watermarks, checkpoints); virtual in tests. */
  readonly scheduler?: SchedulerLike;
  /** Processing time for state TTL and idleness; the scheduler's time when a scheduler is given. */
  readonly clock?: Clock;
  /** Most records per sink write (one write per output is in flight at a time). Default 10,000. */
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
  /** Records done without output (filtered, folded into windows). */
  readonly dropped: number;
  readonly inFlight: number;
  readonly peakInFlight: number;
  /** Replayed records skipped because the restored checkpoint already reflects them. */
  readonly skipped: number;
  readonly checkpoints: number;
  /** Output records for which the job's `countAs` test was true. */
  readonly counted: number;
  readonly elapsedMs: number;
  /** From the first record in to the last record done (written, dead-lettered or dropped): what throughput is measured over. */
  readonly activeMs: number;
  /** From each record's admission to its write (processing latency). */
  readonly latency: LatencySummary;
}

/** How a stop treats operators that hold records (windows). */
export interface StopOptions {
  /** Fire every open window before stopping (Flink's `stop --drain`), instead of keeping them for the restart. */
  readonly drain?: boolean;
}

/** A job that is running. */
export interface RunningJob {
  /** Resolves with the final stats once the job drained and closed; rejects if it failed. */
  readonly done: Promise<JobStats>;
  /** Resolves when records start to flow (models loaded, state restored); rejects if the start failed. */
  readonly started: Promise<void>;
  /** Stops fetching, drains what is in flight, flushes sinks, commits. Safe to call twice. */
  stop(options?: StopOptions): void;
  /**
   * Ends the job at once with `error`, as a failing operator does: no drain and no final
   * checkpoint, so a restart resumes from the last one (e.g. an exactly-once commit that failed).
   */
  fail(error: unknown): void;
  /** Resolves with the error as soon as the job fails, before its stop has ended (`done` rejects then); never rejects. */
  readonly failed: Promise<unknown>;
  /** The step a stop in progress waits in ("closing input transactions (kafka:…)"), undefined otherwise. */
  stopStep(): string | undefined;
  stats(): JobStats;
  /** Admission → written, every record so far: the histogram behind `stats().latency` (stream threads send it to the main thread, which adds them up). */
  readonly latency: LatencyHistogram;
  /** The stages of the operator graph, in the order they subscribed (sink first). */
  stages(): string[];
  readonly instrumentation: Instrumentation;
  readonly state: KeyedStateStore;
}
