import type { Instrumentation } from './instrumentation.ts';
import type { Envelope, SourceRecord } from './record.ts';

// The contracts between the engine and its connectors: what a source and a sink must do. Job
// authors do not implement these; they declare inputs and outputs (see defineJob.ts).

/** How to reach Kafka, from the command line or the environment. */
export interface KafkaSettings {
  readonly brokers: readonly string[];
  /** Consumer group; defaults to the job name. */
  readonly groupId: string;
  readonly clientId: string;
  /** Where a group with no committed offset starts. */
  readonly start: 'earliest' | 'latest';
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
  /** The key's original bytes when the source read them (kept even when they are not UTF-8). */
  readonly originalKey?: Uint8Array | undefined;
  /** The record's original bytes, base64-free: a Uint8Array, or undefined when none were read. */
  readonly original: Uint8Array | undefined;
  /** The record's value at the stage it failed, when it was not the raw input. */
  readonly value: unknown;
  readonly at: number;
}
