import { Observable } from 'rxjs';
import type { CheckpointCoordinator } from '../checkpoint/coordinator.ts';
import type { CompletionTracker } from '../completion.ts';
import type { InFlightBudget } from '../flowControl.ts';
import { describeError, SluiceError } from '../errors.ts';
import type { Instrumentation } from '../instrumentation.ts';
import type { Source, SourceContext, SourcePartitions } from '../job.ts';
import type { Stream } from '../streams.ts';
import { engineSourcePartitions } from './sourcePartitions.ts';
import type { Envelope, SourceRecord } from '../record.ts';
import { finishedWithin } from '../deadline.ts';

/** What admission needs from the engine. */
export interface AdmissionParts {
  readonly budget: InFlightBudget;
  readonly tracker: CompletionTracker;
  readonly instrumentation: Instrumentation;
  readonly signal: AbortSignal;
  /** The checkpoint coordinator once checkpoints run; undefined without checkpoints. */
  readonly checkpoints: () => CheckpointCoordinator | undefined;
  readonly deadLetter: (record: Envelope<unknown>, reason: string, stage: string) => void;
  readonly clock: { now(): number };
}

/**
 * The door between sources and the job: a record gets in only when the in-flight budget has
 * room and no checkpoint is being captured, and gets its completion ticket on the way in. A
 * record offered after the job was told to stop is not taken (it was never tracked, so it is
 * not committed and a restart reads it again).
 */
export class Admission {
  readonly #parts: AdmissionParts;
  #in = 0;
  #firstInAt: number | undefined;
  /** This turn's clock reading (see #admit); cleared when the turn's synchronous run ends. */
  #turnAt: number | undefined;
  readonly #endTurn = (): void => {
    this.#turnAt = undefined;
  };

  readonly #partitions: SourcePartitions;

  constructor(parts: AdmissionParts) {
    this.#parts = parts;
    this.#partitions = engineSourcePartitions(parts);
  }

  /** Records taken in so far. */
  get admitted(): number {
    return this.#in;
  }

  /** When the first record came in (performance.now()), for throughput over the active span. */
  get firstInAt(): number | undefined {
    return this.#firstInAt;
  }

  /** One input's stream: its source runs through the door once the job started, and only once. */
  input(name: string, source: Source<unknown>, started: Promise<void>): Stream<unknown> {
    let subscribed = false;
    return new Observable<Envelope<unknown>>((subscriber) => {
      if (subscribed) {
        subscriber.error(new SluiceError(`input "${name}" is used by two branches of the pipeline; read it once, and feed two branches with split() from sluice/operators`));
        return;
      }
      subscribed = true;
      const door = this.door<unknown>((record) => subscriber.next(record));
      started.then(() =>
        source.run(door).then(
          () => subscriber.complete(),
          (error: unknown) => subscriber.error(error instanceof SluiceError ? error : new SluiceError(`input ${name} (${source.name}) failed: ${describeError(error)}`, { cause: error })),
        ),
      );
    });
  }

  /** The context one source runs with. */
  door<T>(next: (record: Envelope<T>) => void): SourceContext<T> {
    const { instrumentation, signal } = this.#parts;
    const enterPipeline = next as (envelope: Envelope<unknown>) => void;
    const dead = (envelope: Envelope<unknown>) => this.#parts.deadLetter(envelope, deadReasons.get(envelope) ?? 'undecodable', 'decode');
    const deadReasons = new WeakMap<Envelope<unknown>, string>();
    return {
      emit: (record) => this.#offer(record, enterPipeline),
      deadLetter: (record, reason) =>
        this.#offer(record, (envelope) => {
          deadReasons.set(envelope, reason);
          dead(envelope);
        }),
      signal,
      partitions: this.#partitions,
      instrumentation,
    };
  }

  /** Admits a record now, or returns the promise to wait on (and admits it when that resolves). */
  #offer(record: SourceRecord<unknown>, enter: (envelope: Envelope<unknown>) => void): Promise<void> | undefined {
    const { budget, signal } = this.#parts;
    if (signal.aborted) return undefined;
    const checkpoints = this.#parts.checkpoints();
    const gate = checkpoints?.gate;
    if (gate !== undefined) return this.#until(gate).then(() => this.#offer(record, enter));
    if (budget.isFull) return this.#until(budget.whenAvailable()).then(() => this.#offer(record, enter));
    if (checkpoints?.skip(record.position) === true) return undefined;
    enter(this.#admit(record));
    return undefined;
  }

  /** Waits for `ready`, or for the stop signal: a stopping job takes no more records. */
  #until(ready: Promise<void>): Promise<void> {
    const { signal } = this.#parts;
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const onAbort = () => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      ready.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  #admit<V>(record: SourceRecord<V>): Envelope<V> {
    this.#parts.budget.take();
    this.#in += 1;
    // One clock reading per synchronous run, not per record: what a source hands in within one
    // run came in together (one fetch), and the time the job spends on the run's earlier records
    // is time it added to the later ones. It also spares a clock read per record and lets the output's
    // latency histogram take a write's records in a few runs of equal times (core/latency.ts).
    let receivedAt = this.#turnAt;
    if (receivedAt === undefined) {
      receivedAt = this.#turnAt = performance.now();
      queueMicrotask(this.#endTurn);
    }
    this.#firstInAt ??= receivedAt;
    return {
      key: record.key,
      value: record.value,
      timestamp: record.timestamp ?? this.#parts.clock.now(),
      position: record.position,
      headers: record.headers ?? {},
      trace: record.trace,
      receivedAt,
      original: record.original,
      originalKey: record.originalKey,
      ticket: this.#parts.tracker.track(record.position),
    };
  }
}

/**
 * Waits until no record is in flight, or `timeoutMs`; resolves undefined when drained, else a
 * list of the partitions with records still open (for the error that says so).
 */
export async function drainedWithin(budget: InFlightBudget, tracker: CompletionTracker, timeoutMs: number): Promise<string | undefined> {
  return (await finishedWithin(budget.whenEmpty(), timeoutMs)) ? undefined : tracker.describeOpen();
}
