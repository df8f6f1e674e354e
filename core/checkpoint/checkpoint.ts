import type { SourcePosition } from '../record.ts';
import type { StateSnapshot } from '../state/backend.ts';

/**
 * A consistent cut of a job: the keyed state and the operator state (windows, watermarks) that
 * reflect exactly the records up to `positions`, so a restart restores them and replays from
 * the record after each position. Everything in it is JSON.
 */
export interface Checkpoint {
  /** Increases by one per checkpoint written to a store. */
  readonly id: number;
  /** Wall-clock ms when it was taken. */
  readonly createdAt: number;
  /** Per source partition, the last offset whose effect the state includes. */
  readonly positions: readonly SourcePosition[];
  /** Keyed state (`snapshotState`). */
  readonly state: StateSnapshot;
  /** Snapshots of stateful operators by name, e.g. `{ 'merchant-windows': windows.snapshot() }`. */
  readonly operators: Readonly<Record<string, unknown>>;
}

/** What a caller hands to a store; the store gives it an id and a time. */
export type CheckpointInput = Omit<Checkpoint, 'id' | 'createdAt'> & { createdAt?: number };

/** Anything whose state goes into a checkpoint, by scope (source partition) when it has scopes. */
export interface Snapshottable<S = unknown> {
  snapshot(scopes?: Iterable<string>): S;
  restore(snapshot: S): void;
}

/** Where checkpoints are kept. */
export interface CheckpointStore {
  /** Writes a checkpoint durably; resolves once it would survive a crash of the process or the machine. */
  save(input: CheckpointInput): Promise<Checkpoint>;
  /** The newest checkpoint that reads back intact, or undefined when there is none. */
  latest(): Promise<Checkpoint | undefined>;
}
