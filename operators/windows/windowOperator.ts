import type { Snapshottable } from '../../core/checkpoint/checkpoint.ts';
import { InvalidOptionError, SluiceError } from '../../core/errors.ts';
import type { Envelope, SourcePosition } from '../../core/record.ts';
import { scopePartition } from '../../core/partition.ts';
import { extractTimestamp, recordTimestamp, type TimestampExtractor } from '../../core/time/timestampExtractor.ts';
import { WatermarkTracker } from '../../core/time/watermarkTracker.ts';
import { stateScope } from '../withState.ts';
import type { AggregateFunction } from './aggregateFunction.ts';
import { EventTimeTimers } from './eventTimeTimers.ts';
import { EventTimeTrigger } from './eventTimeTrigger.ts';
import { AllowedLateness } from './lateness.ts';
import { resultTicket } from './resultTicket.ts';
import { mergeSessions } from './sessionWindows.ts';
import type { TimeWindow } from './timeWindow.ts';
import type { WindowAssigner } from './windowAssigner.ts';
import { lateEnvelope, resultEnvelope, type WindowOutput, type WindowResult } from './windowOutput.ts';
import type { WindowOperatorOptions, WindowOperatorSnapshot } from './windowOperatorOptions.ts';
import { WindowState, type WindowSlot } from './windowState.ts';

export type { WindowOperatorOptions, WindowOperatorSnapshot } from './windowOperatorOptions.ts';

type Emit<R, T> = (output: Envelope<WindowOutput<R, T>>) => void;

/**
 * Keyed event-time windows with incremental aggregation, allowed lateness and a side output for
 * late records — the state and logic behind {@link windowAggregate}, kept outside RxJS so a
 * checkpoint can `snapshot()` it and a restart can `restore()` it.
 *
 * Records: a record folded into its windows is done at once (its ticket is released), because
 * its effect now lives in window state, which checkpoints carry. A result holds open the ticket
 * of the record whose arrival fired it until the result is written. A late record travels on
 * with its own ticket as a `kind: 'late'` output.
 *
 * @example
 * const windows = new WindowOperator({ assigner: new TumblingEventTimeWindows(60_000), aggregate: countPerWindow, watermarks: { maxOutOfOrdernessMs: 5_000, clock } });
 * transactions.pipe(keyBy((tx) => tx.merchantId), windowAggregate(windows))
 */
export class WindowOperator<T, Acc, R> implements Snapshottable<WindowOperatorSnapshot> {
  readonly assigner: WindowAssigner;
  readonly #aggregate: AggregateFunction<T, Acc, R>;
  readonly #watermarks: WatermarkTracker;
  readonly #lateness: AllowedLateness;
  readonly #trigger = new EventTimeTrigger();
  readonly #timestamp: TimestampExtractor<T>;
  readonly #atEnd: 'fire' | 'keep';
  readonly #state = new WindowState<Acc>();
  readonly #timers = new EventTimeTimers();
  /** Last position seen per scope, for results fired without a record (idleness, end of input). */
  readonly #positions = new Map<string, SourcePosition>();
  #pending = 0;

  constructor(options: WindowOperatorOptions<T, Acc, R>) {
    this.assigner = options.assigner;
    this.#aggregate = options.aggregate;
    if (this.assigner.merging && typeof this.#aggregate.merge !== 'function') {
      throw new InvalidOptionError(`${this.assigner.describe()} merge windows: the aggregate function needs a merge(a, b) method`);
    }
    this.#watermarks = options.watermarks instanceof WatermarkTracker ? options.watermarks : new WatermarkTracker(options.watermarks);
    this.#lateness = new AllowedLateness(options.allowedLatenessMs ?? 0);
    this.#timestamp = options.timestamp ?? recordTimestamp;
    const atEnd = options.atEnd ?? 'fire';
    if (atEnd !== 'fire' && atEnd !== 'keep') throw new InvalidOptionError(`atEnd must be 'fire' or 'keep' (got ${String(atEnd)})`);
    this.#atEnd = atEnd;
  }

  /** The watermark windows fire against; -Infinity before there is one. */
  get watermark(): number {
    return this.#watermarks.current;
  }

  get watermarks(): WatermarkTracker {
    return this.#watermarks;
  }

  /** Windows holding state (fired or not, until their lateness runs out). */
  get openWindows(): number {
    return this.#state.size;
  }

  /** Results emitted and not yet written; a checkpoint is consistent only when this is 0. */
  get pendingResults(): number {
    return this.#pending;
  }

  /** Handles one record: folds it into its windows or routes it to the side output, then fires what is due. */
  process(record: Envelope<T>, emit: Emit<R, T>): void {
    const key = record.key;
    if (key === undefined) throw new SluiceError('window operator needs keyed records: put keyBy(...) before windowAggregate(...)');
    const scope = stateScope(record);
    this.#positions.set(scope, record.position);
    const timestamp = extractTimestamp(this.#timestamp, record);
    if (typeof timestamp !== 'number') {
      emit(lateEnvelope(record, 'invalid-timestamp', timestamp.message, null, this.#watermarks.current));
      return;
    }
    const watermark = this.#watermarks.current;
    this.#watermarks.observe(scope, timestamp);
    const absorbed = this.assigner.merging
      ? this.#addToSession(scope, key, record, timestamp, watermark, emit)
      : this.#addToWindows(scope, key, record, timestamp, watermark, emit);
    this.#advance(emit, record);
    if (absorbed) {
      record.ticket.release();
    } else {
      const message = `event time ${timestamp} is behind the watermark ${watermark} by more than the allowed lateness (${this.#lateness.ms} ms)`;
      emit(lateEnvelope(record, 'late', message, timestamp, watermark));
    }
  }

  /** Processing time moved (an idle timer): recomputes the watermark and fires what is due. */
  onProcessingTime(emit: Emit<R, T>): void {
    this.#advance(emit, undefined);
  }

  /** Milliseconds until {@link onProcessingTime} may change something (a partition turns idle). */
  nextTimerDelay(): number | undefined {
    const at = this.#watermarks.nextIdleAt();
    return at === undefined ? undefined : Math.max(0, at - this.#watermarks.clock.now());
  }

  /**
   * The input ended: with `fire` (the operator's `atEnd` unless told) every open window fires and
   * the state is cleared; with `keep` they stay for a checkpoint to resume.
   */
  finish(emit: Emit<R, T>, atEnd: 'fire' | 'keep' = this.#atEnd): void {
    if (atEnd === 'keep') return;
    this.#fireTimers(this.#timers.popDue(Infinity), emit, undefined);
    this.#state.clear();
  }

  /** The watermark and the windows of the given scopes (all by default), JSON-ready. */
  snapshot(scopes?: Iterable<string>): WindowOperatorSnapshot {
    const list = scopes === undefined ? undefined : [...scopes];
    return { version: 1, watermarks: this.#watermarks.snapshot(list), windows: this.#state.snapshot(list) };
  }

  /** Puts a snapshot back (replacing the scopes it holds); windows already due fire on the next record or timer. */
  restore(snapshot: WindowOperatorSnapshot): void {
    if (snapshot.version !== 1) throw new SluiceError(`window snapshot version ${String(snapshot.version)} is not supported (expected 1)`);
    this.#watermarks.restore(snapshot.watermarks);
    this.#state.restore(snapshot.windows);
    this.#rebuildTimers();
  }

  /** Forgets a scope's windows and watermark (its partition moved to another process). */
  dropScope(scope: string): void {
    this.#state.dropScope(scope);
    this.#watermarks.drop(scope);
    this.#positions.delete(scope);
    this.#rebuildTimers();
  }

  /** Folds the record into each of its windows that is not past its lateness; fires those already due. */
  #addToWindows(scope: string, key: string, record: Envelope<T>, timestamp: number, watermark: number, emit: Emit<R, T>): boolean {
    let absorbed = false;
    for (const window of this.assigner.assignWindows(timestamp)) {
      if (this.#lateness.isLate(window, watermark)) continue;
      let slot = this.#state.get(scope, key, window);
      if (slot === undefined) {
        slot = { window, accumulator: this.#aggregate.createAccumulator(), firings: 0 };
        this.#state.put(scope, key, slot);
        this.#schedule(scope, key, window, watermark);
      }
      slot.accumulator = this.#aggregate.add(record.value, slot.accumulator);
      absorbed = true;
      if (this.#trigger.onElement(window, watermark) === 'fire') emit(this.#fire(scope, key, slot, record));
    }
    return absorbed;
  }

  /** Merges the record's own window with the key's sessions it touches; fires the result if already due. */
  #addToSession(scope: string, key: string, record: Envelope<T>, timestamp: number, watermark: number, emit: Emit<R, T>): boolean {
    const window = this.assigner.assignWindows(timestamp)[0]!;
    const touched = [...this.#state.windowsOf(scope, key)].filter((slot) => slot.window.intersects(window));
    let merged = window;
    for (const slot of touched) merged = merged.cover(slot.window);
    // Judged on the merged session: a record inside a session that is still open is on time.
    if (this.#lateness.isLate(merged, watermark)) return false;
    const own: WindowSlot<Acc> = { window, accumulator: this.#aggregate.add(record.value, this.#aggregate.createAccumulator()), firings: 0 };
    const slot = mergeSessions(touched, own, this.#aggregate.merge!);
    for (const part of touched) this.#state.delete(scope, key, part.window);
    this.#state.put(scope, key, slot);
    if (!touched.some((part) => part.window.id === merged.id)) this.#schedule(scope, key, merged, watermark);
    if (this.#trigger.onElement(merged, watermark) === 'fire') emit(this.#fire(scope, key, slot, record));
    return true;
  }

  /** Timers of a new window: its on-time firing (unless already due: the record fires it) and its clean-up. */
  #schedule(scope: string, key: string, window: TimeWindow, watermark: number): void {
    const fireTime = this.#trigger.fireTime(window);
    if (fireTime > watermark) this.#timers.add({ time: fireTime, kind: 'fire', scope, key, window });
    this.#timers.add({ time: this.#lateness.cleanupTime(window), kind: 'cleanup', scope, key, window });
  }

  #rebuildTimers(): void {
    this.#timers.clear();
    const watermark = this.#watermarks.current;
    for (const scope of this.#state.scopes()) {
      for (const [key, slot] of this.#state.entries(scope)) {
        const { window } = slot;
        // A window that never fired fires on the next check even if its time has passed (restored behind this watermark).
        if (slot.firings === 0 || this.#trigger.fireTime(window) > watermark) this.#timers.add({ time: this.#trigger.fireTime(window), kind: 'fire', scope, key, window });
        this.#timers.add({ time: this.#lateness.cleanupTime(window), kind: 'cleanup', scope, key, window });
      }
    }
  }

  #advance(emit: Emit<R, T>, cause: Envelope<T> | undefined): void {
    const watermark = this.#watermarks.advance();
    if ((this.#timers.peek() ?? Infinity) > watermark) return;
    this.#fireTimers(this.#timers.popDue(watermark), emit, cause);
  }

  #fireTimers(timers: ReturnType<EventTimeTimers['popDue']>, emit: Emit<R, T>, cause: Envelope<T> | undefined): void {
    for (const timer of timers) {
      const slot = this.#state.get(timer.scope, timer.key, timer.window);
      if (slot === undefined) continue; // merged into a larger session, or dropped with its scope
      if (timer.kind === 'fire') emit(this.#fire(timer.scope, timer.key, slot, cause));
      else this.#state.delete(timer.scope, timer.key, timer.window);
    }
  }

  #fire(scope: string, key: string, slot: WindowSlot<Acc>, cause: Envelope<T> | undefined): Envelope<WindowResult<R>> {
    const { window } = slot;
    const value: WindowResult<R> = {
      kind: 'window',
      key,
      start: window.start,
      end: window.end,
      result: this.#aggregate.getResult(slot.accumulator),
      firing: slot.firings,
    };
    slot.firings += 1;
    this.#pending += 1;
    // A result holds its cause's ticket until written; `#pending` counts results not yet written.
    return resultEnvelope(value, window.maxTimestamp, cause?.position ?? this.#positionOf(scope), cause, resultTicket(cause?.ticket, () => (this.#pending -= 1)));
  }

  #positionOf(scope: string): SourcePosition {
    return this.#positions.get(scope) ?? { ...scopePartition(scope), offset: -1 };
  }
}
