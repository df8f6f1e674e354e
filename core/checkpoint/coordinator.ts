import type { CompletionTracker } from '../completion.ts';
import { describeError, requirePositiveInteger } from '../errors.ts';
import type { InFlightBudget } from '../flowControl.ts';
import type { SourcePosition } from '../record.ts';
import type { StateBackend } from '../state/backend.ts';
import { captureCheckpoint, restoreCheckpoint } from './capture.ts';
import type { Checkpoint, CheckpointStore, Snapshottable } from './checkpoint.ts';

/** How often and where a job checkpoints. */
export interface CheckpointOptions {
  readonly store: CheckpointStore;
  readonly intervalMs: number;
  /** Where restore and failure lines go; stderr by default. */
  readonly log?: (line: string) => void;
}

/** A stateful operator the checkpoint covers; `quiescent` says it holds no unwritten output. */
export interface CheckpointPart extends Snapshottable {
  quiescent?(): boolean;
}

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
  /** Last offset per partition covered by a durable checkpoint (or the restored one). */
  readonly #durable = new Map<string, SourcePosition>();
  /** Offsets at or below these were in the restored state: a replay of them is skipped. */
  readonly #restored = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #gate: Promise<void> | undefined;
  #running: Promise<void> | undefined;
  #skipped = 0;
  #taken = 0;
  #lastDurationMs = 0;

  constructor(
    options: CheckpointOptions,
    parts: { budget: InFlightBudget; tracker: CompletionTracker; state: StateBackend; parts: Map<string, CheckpointPart> },
  ) {
    this.#options = options;
    requirePositiveInteger('checkpoint interval', options.intervalMs);
    this.#budget = parts.budget;
    this.#tracker = parts.tracker;
    this.#state = parts.state;
    this.#parts = parts.parts;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
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
    const checkpoint = await this.#options.store.latest();
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
    if (this.#restored.size === 0) return false;
    const restored = this.#restored.get(partitionKey(position.topic, position.partition));
    if (restored === undefined || position.offset > restored) return false;
    this.#skipped += 1;
    return true;
  }

  /** The last offset of a partition that a durable checkpoint covers. */
  committable(topic: string, partition: number): number | undefined {
    return this.#durable.get(partitionKey(topic, partition))?.offset;
  }

  start(): void {
    this.#timer = setInterval(() => void this.checkpoint(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops the interval and waits for a checkpoint under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
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
    let open!: () => void;
    this.#gate = new Promise<void>((resolve) => (open = resolve));
    let capture: ReturnType<typeof captureCheckpoint>;
    let positions: SourcePosition[];
    try {
      await this.#budget.whenEmpty();
      while (![...this.#parts.values()].every((part) => part.quiescent?.() ?? true)) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        await this.#budget.whenEmpty();
      }
      positions = this.#positions();
      capture = captureCheckpoint(positions, { state: this.#state, operators: Object.fromEntries(this.#parts) });
    } finally {
      this.#gate = undefined;
      open();
    }
    try {
      await this.#options.store.save(capture);
    } catch (error) {
      this.#log(`checkpoint failed, offsets stay at the previous one: ${describeError(error)}`);
      return;
    }
    for (const position of positions) this.#durable.set(partitionKey(position.topic, position.partition), position);
    this.#taken += 1;
    this.#lastDurationMs = performance.now() - started;
  }

  /** Every partition's last finished offset, falling back to the restored one. */
  #positions(): SourcePosition[] {
    const positions = new Map<string, SourcePosition>(this.#durable);
    for (const { topic, partition, committable } of this.#tracker.partitions()) {
      if (committable !== undefined) positions.set(partitionKey(topic, partition), { topic, partition, offset: committable });
    }
    return [...positions.values()];
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
