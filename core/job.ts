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
  /** TLS and SASL for the connection; plaintext without. Holds secrets: never print it. */
  readonly security?: KafkaSecurity | undefined;
}

/** How the Kafka connection is secured (the contents of the files the flags name, not their paths). */
export interface KafkaSecurity {
  /** TLS; `{}` trusts the system's CAs. `ca`, `cert` and `key` are PEM texts. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string } | undefined;
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string } | undefined;
}

/** Produces records into a job. `run` resolves when the source is exhausted or told to stop. */
export interface Source<T> {
  readonly name: string;
  run(ctx: SourceContext<T>): Promise<void>;
  /** After the job has drained: commit final positions, disconnect. */
  close?(): Promise<void>;
}

/**
 * How a source talks to the engine: it hands records in ({@link emit}, {@link deadLetter}),
 * stops when {@link signal} aborts, and keeps its partitions in step with the job through
 * {@link partitions}. That is the whole door.
 */
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
  /** The partitions this source owns: their state, their progress and what may be committed. */
  readonly partitions: SourcePartitions;
  readonly instrumentation: Instrumentation;
}

/** A partition of a source (a Kafka topic-partition; embedded sources have their own). */
export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/**
 * What the engine raises for a source, instead of being polled: the budget filled up (pause
 * fetching), half of it is free again (resume), a checkpoint made more positions committable.
 */
export interface SourcePartitionEvents {
  full?(): void;
  resume?(): void;
  checkpointed?(): void;
}

/**
 * The partitions a consumer-group source owns, as the engine sees them. The source announces
 * assignments and revocations; the engine restores and forgets their state, tells what is safe
 * to commit, and raises {@link SourcePartitionEvents}. Sources without partitions ignore it.
 */
export interface SourcePartitions {
  /**
   * Partitions given to this source. Their records must wait for the promise: with per-partition
   * checkpoints (a changelog) their state is restored first.
   */
  assign(partitions: readonly PartitionRef[]): Promise<void>;
  /**
   * Partitions taken away: their state is dropped at once; waits up to `timeoutMs` for their
   * records in flight and resolves with those still open (their new owner redoes them). Commit
   * what is committable, then {@link release} them.
   */
  revoke(partitions: readonly PartitionRef[], timeoutMs: number): Promise<{ partition: PartitionRef; pending: number }[]>;
  /** Forgets the progress of revoked partitions once it is committed. */
  release(partitions: readonly PartitionRef[]): void;
  /**
   * The highest offset of a partition whose record and every earlier one are done — and, when
   * the job checkpoints, covered by a durable checkpoint.
   */
  committable(topic: string, partition: number): number | undefined;
  /**
   * The most records a source may hold uncommitted (the in-flight budget), which bounds what a
   * crash makes it redo. With checkpoints, asking for room starts a checkpoint soon.
   */
  readonly maxUncommitted: number;
  /** Asks for a checkpoint soon (when the job checkpoints), so positions become committable. */
  requestCheckpoint(): void;
  /** Listens to the engine's events for this source; returns the function that stops listening. */
  on(events: SourcePartitionEvents): () => void;
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
