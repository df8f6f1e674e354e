import type { OperatorFunction } from 'rxjs';
import type { Clock } from './clock.ts';
import { InvalidOptionError, JobDefinitionError } from './errors.ts';
import type { Envelope, SourceRecord } from './record.ts';
import type { KeyedStateStore } from './state/keyedState.ts';
import type { InferenceService } from './inference.ts';
import type { Instrumentation } from './instrumentation.ts';
import type { CheckpointPart } from './checkpoint/coordinator.ts';

/**
 * A job: where records come from, what happens to them (an RxJS operator graph over
 * envelopes), and where they go. Sources and sinks are factories so the same job file runs on
 * embedded connectors or on Kafka, chosen by the command line.
 */
export interface JobDefinition<In, Out> {
  readonly name: string;
  readonly source: (env: RunEnvironment) => Source<In>;
  readonly pipeline: (ctx: JobContext) => OperatorFunction<Envelope<In>, Envelope<Out>>;
  readonly sink: (env: RunEnvironment) => Sink<Out>;
  /** Where bad records go; defaults to a JSONL file under the working directory's `.sluice/`. */
  readonly deadLetter?: (env: RunEnvironment) => Sink<DeadLetter>;
  /** Describes an output record in the closing summary (e.g. "flagged"): counted when true. */
  readonly countAs?: { label: string; test: (value: Out) => boolean };
}

/** What the command line decided about this run; job factories read it to pick connectors. */
export interface RunEnvironment {
  /** Set when running on Kafka (`--brokers` or KAFKA_BROKERS); undefined means embedded connectors. */
  readonly kafka: KafkaSettings | undefined;
  /** Topic names chosen on the command line; a job falls back to its own defaults. */
  readonly topics: { readonly input?: string; readonly output?: string; readonly deadLetter?: string };
  /** `--set name=value` options a job may read (counts, rates, file paths). */
  readonly settings: Readonly<Record<string, string>>;
  readonly workers: number;
  readonly clock: Clock;
}

/** How to reach Kafka, from the command line or the environment. */
export interface KafkaSettings {
  readonly brokers: readonly string[];
  /** Consumer group; defaults to the job name. */
  readonly groupId: string;
  readonly clientId: string;
  /** Where a group with no committed offset starts. */
  readonly start: 'earliest' | 'latest';
}

/** What a pipeline may use: keyed state, the dead-letter route, inference, the clock. */
export interface JobContext {
  readonly jobName: string;
  /** The run's environment: settings, Kafka or embedded, worker count. */
  readonly env: RunEnvironment;
  readonly state: KeyedStateStore;
  readonly clock: Clock;
  readonly inference: InferenceService;
  readonly instrumentation: Instrumentation;
  /**
   * Sends a record to the dead-letter sink with a reason instead of passing it on. The record
   * counts as done once the dead letter is written.
   */
  deadLetter(record: Envelope<unknown>, reason: string, stage: string, options?: DeadLetterOptions): void;
  /**
   * Puts a stateful operator (windows, watermarks) into the job's checkpoints under a name that
   * stays the same across restarts. Keyed state from `ctx.state` is always included.
   */
  checkpointed(name: string, part: CheckpointPart): void;
}

/** How a record goes to the dead-letter sink. */
export interface DeadLetterOptions {
  /**
   * The record also goes on to the sink (with a safe default, say): the caller has retained its
   * ticket, and the summary does not count it as dropped.
   */
  readonly alsoOutput?: boolean;
}

/** Produces records into a job. `run` resolves when the source is exhausted or told to stop. */
export interface Source<T> {
  readonly name: string;
  run(ctx: SourceContext<T>): Promise<void>;
  /** After the job has drained: commit final positions, disconnect. */
  close?(): Promise<void>;
}

/** How a source hands records to the engine and learns what is safe to commit. */
export interface SourceContext<T> {
  /**
   * Hands one record to the job. Returns a promise when the in-flight budget is full: the source
   * must await it before emitting more (that is the backpressure). Returns undefined otherwise,
   * so the fast path allocates nothing.
   */
  emit(record: SourceRecord<T>): Promise<void> | undefined;
  /** Sends undecodable input straight to the dead-letter sink; counts as done when written. */
  deadLetter(record: SourceRecord<unknown>, reason: string): Promise<void> | undefined;
  /** Aborted when the job is asked to stop: stop fetching and return from `run`. */
  readonly signal: AbortSignal;
  /** The highest offset of a partition whose record and every earlier one are done. */
  committable(topic: string, partition: number): number | undefined;
  /** Records of a partition still in flight. */
  pending(topic: string, partition: number): number;
  /** Resolves when no record of the partition is in flight (or after `timeoutMs`). */
  drained(topic: string, partition: number, timeoutMs: number): Promise<boolean>;
  /** Forget a partition's progress once it is revoked and committed. */
  forget(topic: string, partition: number): void;
  /**
   * A consumer-group source announces partitions it was given, and awaits this before emitting
   * their records: with per-partition checkpoints (a changelog) their state is restored first.
   */
  assigned(partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<void>;
  /** ...and partitions taken away, whose state this process then forgets. */
  revoked(partitions: ReadonlyArray<{ topic: string; partition: number }>): void;
  /** True when the job checkpoints: `committable` then moves only with durable checkpoints. */
  readonly checkpointing: boolean;
  /**
   * Asks for a checkpoint soon (one under way counts), so positions become committable: a source
   * that bounds its uncommitted records calls it when they pile up.
   */
  requestCheckpoint(): void;
  /** Called by the budget when it fills or drains, so a source can pause/resume fetching. */
  onBackpressure(listener: { onFull?(): void; onAvailable?(): void }): () => void;
  /**
   * The in-flight budget (records inside the job at once). A source that commits may also hold
   * its uncommitted records to it, which bounds what a crash can make it redo.
   */
  readonly maxInFlight: number;
  readonly instrumentation: Instrumentation;
}

/** Takes a job's output. A record is done when the promise of the write that holds it resolves. */
export interface Sink<T> {
  readonly name: string;
  write(records: readonly Envelope<T>[]): Promise<void>;
  /** Writes anything buffered; called before the job commits on shutdown. */
  flush?(): Promise<void>;
  close?(): Promise<void>;
}

/** What the dead-letter sink receives: the reason, the stage and the original bytes. */
export interface DeadLetter {
  readonly reason: string;
  readonly stage: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | undefined;
  /** The record's original bytes, base64-free: a Uint8Array, or undefined when none were read. */
  readonly original: Uint8Array | undefined;
  /** The record's value at the stage it failed, when it was not the raw input. */
  readonly value: unknown;
  readonly at: number;
}

/**
 * Declares a job. Checks its shape now, so a wrong job file fails with one readable message.
 *
 * @example
 * export default defineJob({
 *   name: 'double',
 *   source: () => generatorSource({ count: 10, make: (i) => i }),
 *   pipeline: () => mapValue((n: number) => n * 2),
 *   sink: () => consoleSink(),
 * });
 */
export function defineJob<In, Out>(definition: JobDefinition<In, Out>): JobDefinition<In, Out> {
  const problems: string[] = [];
  if (typeof definition !== 'object' || definition === null) throw new JobDefinitionError('defineJob() needs an object with name, source, pipeline and sink');
  if (typeof definition.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(definition.name)) problems.push('`name` must be a non-empty string of letters, digits, ".", "_" or "-"');
  for (const field of ['source', 'pipeline', 'sink'] as const) {
    if (typeof definition[field] !== 'function') problems.push(`\`${field}\` must be a function (got ${typeof definition[field]})`);
  }
  if (definition.deadLetter !== undefined && typeof definition.deadLetter !== 'function') problems.push('`deadLetter` must be a function when given');
  if (problems.length > 0) throw new JobDefinitionError(`invalid job definition: ${problems.join('; ')}`);
  return definition;
}

/** Tells a job definition apart from anything else a job file might export. */
export function isJobDefinition(value: unknown): value is JobDefinition<unknown, unknown> {
  return typeof value === 'object' && value !== null && 'pipeline' in value && 'source' in value && 'sink' in value;
}

/**
 * A numeric job setting (`--set name=value`), or `fallback` when it is not set. A value that is
 * not a number is an InvalidOptionError naming the setting.
 *
 * @example
 * const count = numberSetting(env, 'count', 500_000);
 */
export function numberSetting(env: RunEnvironment, name: string, fallback: number): number {
  const text = env.settings[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new InvalidOptionError(`--set ${name}=${text}: expected a number`);
  return value;
}
