import type { Subscription } from 'rxjs';
import type { CompletionTracker } from '../completion.ts';
import { finishedWithin } from '../deadline.ts';
import { describeError, requirePositiveInteger } from '../errors.ts';
import type { InFlightBudget } from '../flowControl.ts';
import type { SourcePosition } from '../record.ts';
import type { StateBackend } from '../state/backend.ts';
import { captureCheckpoint, capturePartitions, restoreCheckpoint } from './capture.ts';
import type { CheckpointOptions, CheckpointPart } from './checkpointOptions.ts';
import type { Checkpoint } from './checkpoint.ts';
import { CheckpointTimeoutError } from './errors.ts';
import { isPartitionStore } from './partitionStore.ts';
import { partitionKey, partitionScope } from '../partition.ts';

export type { CheckpointOptions, CheckpointPart } from './checkpointOptions.ts';

/**
 * Takes consistent checkpoints of a running job, stop-the-world style: it holds the source back,
 * waits until every record taken is done (written or dead-lettered) and every stateful operator
 * is quiescent, captures keyed and operator state with each partition's last offset, and lets
 * the source go on while the checkpoint is written. Positions become committable only once
 * their checkpoint is durable, so a Kafka commit never runs ahead of the state that reflects it.
 *
 * On start it restores the newest good checkpoint; records at or below its positions are skipped
 * when a source replays them, so their effect on state is never counted twice.
 *
 * @example
 * const checkpoints = new CheckpointCoordinator({ store, intervalMs: 1000 }, { budget, tracker, state, parts });
 * await checkpoints.restore();
 * checkpoints.start();
 */
export class CheckpointCoordinator {
  readonly #options: CheckpointOptions;
  readonly #budget: InFlightBudget;
  readonly #tracker: CompletionTracker;
  readonly #state: StateBackend;
  readonly #parts: Map<string, CheckpointPart>;
  readonly #log: (line: string) => void;
  readonly #fail: (error: Error) => void;
  /** Last offset per partition covered by a durable checkpoint (or the restored one). */
  readonly #durable = new Map<string, SourcePosition>();
  /** Offsets at or below these were in the restored state: a replay of them is skipped. */
  readonly #restored = new Map<string, number>();
  /** Partition mode: the partitions this process owns, and those whose next save is a full one. */
  readonly #owned = new Map<string, { topic: string; partition: number }>();
  readonly #needsFull = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #scheduled: Subscription | undefined;
  #gate: Promise<void> | undefined;
  #running: Promise<void> | undefined;
  #skipped = 0;
  #taken = 0;
  #lastDurationMs = 0;
  #lastStartedAt = -Infinity;
  readonly #checkpointed = new Set<() => void>();

  constructor(
    options: CheckpointOptions,
    parts: { budget: InFlightBudget; tracker: CompletionTracker; state: StateBackend; parts: Map<string, CheckpointPart>; fail?: (error: Error) => void },
  ) {
    this.#options = options;
    requirePositiveInteger('checkpoint interval', options.intervalMs);
    this.#budget = parts.budget;
    this.#tracker = parts.tracker;
    this.#state = parts.state;
    this.#parts = parts.parts;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#fail = parts.fail ?? ((error) => this.#log(error.message));
    if (options.timeoutMs !== undefined) requirePositiveInteger('checkpoint timeout', options.timeoutMs);
  }

  /** While a checkpoint is being captured, the promise a source must wait on; otherwise undefined. */
  get gate(): Promise<void> | undefined {
    return this.#gate;
  }

  /** Replayed records skipped because the restored state already reflects them. */
  get skipped(): number {
    return this.#skipped;
  }

  get taken(): number {
    return this.#taken;
  }

  get lastDurationMs(): number {
    return this.#lastDurationMs;
  }

  /** Restores the newest good checkpoint; returns it, or undefined on a first start. */
  async restore(): Promise<Checkpoint | undefined> {
    const store = this.#options.store;
    if (isPartitionStore(store)) {
      // State arrives partition by partition, as the source is assigned them (`assign`).
      this.#state.trackChanges();
      return undefined;
    }
    const checkpoint = await store.latest();
    if (checkpoint === undefined) return undefined;
    const { missing, unused } = restoreCheckpoint(checkpoint, { state: this.#state, operators: Object.fromEntries(this.#parts) });
    for (const position of checkpoint.positions) {
      const key = partitionKey(position.topic, position.partition);
      this.#restored.set(key, position.offset);
      this.#durable.set(key, position);
    }
    const notes = [missing.length > 0 ? `operators starting empty: ${missing.join(', ')}` : '', unused.length > 0 ? `no longer used: ${unused.join(', ')}` : ''].filter(Boolean);
    this.#log(`restored checkpoint ${checkpoint.id} from ${new Date(checkpoint.createdAt).toISOString()} (${checkpoint.positions.length} partitions)${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`);
    return checkpoint;
  }

  /** True when the restored state already includes this record: count it and leave it out. */
  skip(position: SourcePosition): boolean {
    const key = partitionKey(position.topic, position.partition);
    // A record of a partition this process does not own (any more): its state lives elsewhere.
    if (this.#partitioned && !this.#owned.has(key)) {
      this.#skipped += 1;
      return true;
    }
    if (this.#restored.size === 0) return false;
    const restored = this.#restored.get(key);
    if (restored === undefined || position.offset > restored) return false;
    this.#skipped += 1;
    return true;
  }

  /** The last offset of a partition that a durable checkpoint covers. */
  committable(topic: string, partition: number): number | undefined {
    return this.#durable.get(partitionKey(topic, partition))?.offset;
  }

  /**
   * Partition mode: this process now owns these partitions. Loads their state from the store
   * (the previous owner's last checkpoint) before any of their records is processed.
   */
  async assign(partitions: ReadonlyArray<{ topic: string; partition: number }>): Promise<void> {
    const store = this.#options.store;
    if (!isPartitionStore(store)) return;
    const fresh = partitions.filter(({ topic, partition }) => !this.#owned.has(partitionKey(topic, partition)));
    if (fresh.length === 0) return;
    const restored = await store.load(fresh);
    for (const { topic, partition } of fresh) {
      const key = partitionKey(topic, partition);
      const scope = partitionScope(topic, partition);
      this.#state.dropScope(scope);
      for (const part of this.#parts.values()) part.dropScope?.(scope);
      this.#owned.set(key, { topic, partition });
      this.#needsFull.add(key);
    }
    for (const partition of restored) {
      const key = partitionKey(partition.topic, partition.partition);
      const scope = partitionScope(partition.topic, partition.partition);
      for (const [name, stateKey, entry] of partition.state) this.#state.put(scope, name, stateKey, entry);
      for (const [name, part] of this.#parts) if (name in partition.operators) part.restore(partition.operators[name]);
      this.#restored.set(key, partition.offset);
      this.#durable.set(key, { topic: partition.topic, partition: partition.partition, offset: partition.offset });
    }
    // What was just restored is not a change to write back.
    for (const { topic, partition } of fresh) this.#state.takeChanges(partitionScope(topic, partition));
    if (restored.length > 0) {
      this.#log(`restored state of ${restored.map((p) => `${p.topic}[${p.partition}]@${p.offset}`).join(' ')} from the changelog`);
    }
  }

  /** Partition mode: these partitions went to another process; forget their state here. */
  revoke(partitions: ReadonlyArray<{ topic: string; partition: number }>): void {
    const store = this.#options.store;
    if (!isPartitionStore(store)) return;
    store.release?.(partitions);
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const scope = partitionScope(topic, partition);
      this.#owned.delete(key);
      this.#needsFull.delete(key);
      this.#restored.delete(key);
      this.#durable.delete(key);
      this.#state.dropScope(scope);
      for (const part of this.#parts.values()) part.dropScope?.(scope);
    }
  }

  get #partitioned(): boolean {
    return isPartitionStore(this.#options.store);
  }

  start(): void {
    const { scheduler, intervalMs } = this.#options;
    if (scheduler !== undefined) {
      const checkpoint = () => void this.checkpoint();
      this.#scheduled = scheduler.schedule(function tick() {
        checkpoint();
        this.schedule(undefined, intervalMs);
      }, intervalMs);
      return;
    }
    this.#timer = setInterval(() => void this.checkpoint(), intervalMs);
    this.#timer.unref();
  }

  /** Stops the interval and waits for a checkpoint under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#scheduled?.unsubscribe();
    this.#scheduled = undefined;
    await this.#running;
  }

  /** Releases the store's connections (after the last checkpoint). */
  async close(): Promise<void> {
    const store = this.#options.store;
    if (isPartitionStore(store)) await store.close?.();
  }

  /** A source asks for a checkpoint: one soon, but not more often than every 50 ms. */
  request(): void {
    if (this.#running !== undefined || performance.now() - this.#lastStartedAt < 50) return;
    void this.checkpoint();
  }

  /** Takes one checkpoint now (or joins the one under way); resolves when it is durable. */
  checkpoint(): Promise<void> {
    this.#running ??= this.#take().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #take(): Promise<void> {
    const started = performance.now();
    this.#lastStartedAt = started;
    let open!: () => void;
    this.#gate = new Promise<void>((resolve) => (open = resolve));
    let save: () => Promise<unknown>;
    let positions: SourcePosition[];
    let onFailure = () => {};
    try {
      const wait = { over: false };
      if (!(await this.#inTime(this.#aligned(wait), started))) {
        wait.over = true;
        this.#fail(new CheckpointTimeoutError(this.#options.timeoutMs ?? 0, `the records in flight to finish (still open: ${this.#stillOpen()}): a write, a model call or an operator never finished`));
        return;
      }
      positions = this.#positions();
      const store = this.#options.store;
      if (isPartitionStore(store)) {
        const partitions = capturePartitions(positions, this.#state, this.#parts, this.#needsFull);
        save = () => store.save(partitions);
        // Changes already taken would be missing from the next save: make it a full one.
        onFailure = () => partitions.forEach((p) => this.#owned.has(partitionKey(p.topic, p.partition)) && this.#needsFull.add(partitionKey(p.topic, p.partition)));
      } else {
        const capture = captureCheckpoint(positions, { state: this.#state, operators: Object.fromEntries(this.#parts) });
        save = () => store.save(capture);
      }
    } finally {
      this.#gate = undefined;
      open();
    }
    try {
      // The timeout covers the whole checkpoint, its write too (as Flink's does): a store that
      // never answers would otherwise leave every later checkpoint waiting behind this one.
      if (!(await this.#inTime(save(), started))) {
        this.#fail(new CheckpointTimeoutError(this.#options.timeoutMs ?? 0, 'its store to write it'));
        return;
      }
    } catch (error) {
      onFailure();
      this.#log(`checkpoint failed, offsets stay at the previous one: ${describeError(error)}`);
      return;
    }
    for (const position of positions) this.#durable.set(partitionKey(position.topic, position.partition), position);
    this.#taken += 1;
    this.#lastDurationMs = performance.now() - started;
    for (const listener of this.#checkpointed) listener();
  }

  /** True once `step` is done, false if the checkpoint begun at `started` ran out of its timeout first; rejects as `step` does. */
  #inTime(step: Promise<unknown>, started: number): Promise<boolean> {
    const timeoutMs = this.#options.timeoutMs;
    if (timeoutMs === undefined) return step.then(() => true);
    return finishedWithin(step, Math.max(1, timeoutMs - (performance.now() - started)));
  }

  /** Resolves once no record is in flight and every stateful operator has written its output (or the wait is over). */
  async #aligned(wait: { over: boolean }): Promise<void> {
    await this.#budget.whenEmpty();
    while (!wait.over && ![...this.#parts.values()].every((part) => part.quiescent?.() ?? true)) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      await this.#budget.whenEmpty();
    }
  }

  /** The partitions with records still in flight, or the operator that holds output. */
  #stillOpen(): string {
    return this.#tracker.describeOpen() || 'no record, an operator still holding output';
  }

  /** Calls `listener` after each durable checkpoint (positions just became committable). */
  onCheckpointed(listener: () => void): () => void {
    this.#checkpointed.add(listener);
    return () => this.#checkpointed.delete(listener);
  }

  /** Every (owned) partition's last finished offset, falling back to the restored one. */
  #positions(): SourcePosition[] {
    const positions = new Map<string, SourcePosition>(this.#durable);
    for (const { topic, partition, committable } of this.#tracker.partitions()) {
      if (committable !== undefined) positions.set(partitionKey(topic, partition), { topic, partition, offset: committable });
    }
    if (this.#partitioned) for (const key of positions.keys()) if (!this.#owned.has(key)) positions.delete(key);
    return [...positions.values()];
  }
}
