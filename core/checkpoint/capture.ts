import type { SourcePosition } from '../record.ts';
import { restoreState, snapshotState, type StateBackend } from '../state/backend.ts';
import type { Checkpoint, CheckpointInput, Snapshottable } from './checkpoint.ts';
import type { PartitionCheckpoint } from './partitionStore.ts';
import { partitionKey, partitionScope } from '../partition.ts';

/** The stateful parts of a job that a checkpoint covers. */
export interface CheckpointParts {
  /** Keyed state. */
  readonly state?: StateBackend | undefined;
  /** Stateful operators by a name that stays the same across restarts (window operators, ...). */
  readonly operators?: Readonly<Record<string, Snapshottable>>;
}

/**
 * Takes a checkpoint's content from the job's parts. Call it only at a consistent point: when
 * every record up to `positions` — and none after — has reached the state (the source paused and
 * drained, window results written).
 *
 * @example
 * await store.save(captureCheckpoint(positions, { state: backend, operators: { windows } }));
 */
export function captureCheckpoint(positions: readonly SourcePosition[], parts: CheckpointParts): CheckpointInput {
  const operators: Record<string, unknown> = {};
  for (const [name, operator] of Object.entries(parts.operators ?? {})) operators[name] = operator.snapshot();
  return { positions: positions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })), state: parts.state === undefined ? {} : snapshotState(parts.state), operators };
}

/**
 * Puts a checkpoint back into the job's parts. Returns the operator names the job has but the
 * checkpoint lacks (they start empty) and those the checkpoint has but the job no longer uses,
 * for one log line.
 *
 * @example
 * const latest = await store.latest();
 * if (latest) restoreCheckpoint(latest, { state: backend, operators: { windows } });
 */
export function restoreCheckpoint(checkpoint: Checkpoint, parts: CheckpointParts): { missing: string[]; unused: string[] } {
  if (parts.state !== undefined) restoreState(parts.state, checkpoint.state);
  const named = parts.operators ?? {};
  const missing: string[] = [];
  for (const [name, operator] of Object.entries(named)) {
    if (name in checkpoint.operators) operator.restore(checkpoint.operators[name]);
    else missing.push(name);
  }
  const unused = Object.keys(checkpoint.operators).filter((name) => !(name in named));
  return { missing, unused };
}

/**
 * Partition mode (a changelog): each partition's changes since its last save — or all of its
 * state when `needsFull` names it — and its operators' snapshots, copied so the job can go on
 * while the checkpoint is written.
 *
 * @example
 * const partitions = capturePartitions(positions, state, parts, needsFull);
 */
export function capturePartitions(positions: readonly SourcePosition[], state: StateBackend, parts: ReadonlyMap<string, Snapshottable>, needsFull: Set<string>): PartitionCheckpoint[] {
  const operators = [...parts];
  return positions.map(({ topic, partition, offset }) => {
    const key = partitionKey(topic, partition);
    const scope = partitionScope(topic, partition);
    const full = needsFull.delete(key);
    const changes = state.takeChanges(scope);
    const entries = full ? [...state.entries(scope)].map(([name, stateKey, entry]) => [name, stateKey, entry] as const) : changes;
    return {
      topic,
      partition,
      offset,
      full,
      state: entries.map(([name, stateKey, entry]) => [name, stateKey, entry === undefined ? undefined : { value: structuredClone(entry.value), expiresAt: entry.expiresAt }] as const),
      operators: Object.fromEntries(operators.map(([name, part]) => [name, part.snapshot([scope])])),
    };
  });
}
