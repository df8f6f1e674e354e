import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import { systemClock } from '../core/clock.ts';
import { operatorContext } from '../core/engine/operatorContext.ts';
import { InvalidOptionError, requireNonNegativeNumber, StageError } from '../core/errors.ts';
import type { Envelope } from '../core/record.ts';
import type { Stream } from '../core/streams.ts';
import { WatermarkTracker } from '../core/time/watermarkTracker.ts';
import type { StageOptions } from './internal/operate.ts';
import { IntervalJoinState, type IntervalJoinSnapshot, type JoinEntry } from './monitoring/intervalJoinState.ts';
import { resultTicket } from './windows/resultTicket.ts';
import { stateScope } from './withState.ts';

export interface IntervalJoinOptions<L, R, B> {
  /** Right records join a left record at time t when their time is in [t + lowerMs, t + upperMs]. */
  readonly lowerMs: number;
  readonly upperMs: number;
  /** The join key of each side; the record's key by default. */
  readonly key?: { readonly left?: (value: L) => string; readonly right?: (value: R) => string };
  /** Event time of each side; the record's event time by default. */
  readonly time?: { readonly left?: (value: L) => number; readonly right?: (value: R) => number };
  /** The output of one matching pair. */
  readonly join: (left: L, right: R) => B;
  /** How far behind the newest event time of its partition a record may arrive (both inputs). Default 0. */
  readonly maxOutOfOrdernessMs?: number;
  /** A partition with no record for this long (processing time) stops holding the watermark back, so state still expires. */
  readonly idleTimeoutMs?: number;
}

/**
 * Flink's interval join, keyed: each record of this stream (the left side) joins the records of
 * `right` with the same key whose event time lies within [left.time + lowerMs, left.time + upperMs],
 * whichever arrives first. Both sides are buffered in state until the watermark (the minimum over
 * both inputs' partitions) passes the interval, then dropped; the buffers are part of every
 * checkpoint under the stage's name.
 *
 * Records: a record is done as soon as it is in the buffers (their checkpoint carries it) or
 * known to match nothing more; a pair holds open the ticket of the record whose arrival made it
 * until the pair is written. So an unmatched record costs no waiting, and a label's offset is not
 * committed before the pair it made is out. It is an inner join: unmatched records leave nothing.
 *
 * @example
 * decisions.pipe(
 *   intervalJoin(labels, { lowerMs: 0, upperMs: 48 * 3600_000,
 *                          key: { left: (d) => d.transactionId, right: (l) => l.transactionId },
 *                          join: (d, l) => ({ score: d.score, isFraud: l.isFraud }) }),
 * )
 */
export function intervalJoin<L, R, B>(right: Stream<R>, options: IntervalJoinOptions<L, R, B>, stageOptions?: StageOptions): OperatorFunction<Envelope<L>, Envelope<B>> {
  if (typeof options?.join !== 'function') throw new InvalidOptionError('intervalJoin(): join must be a function (left, right) => output');
  const { lowerMs, upperMs } = options;
  if (!Number.isFinite(lowerMs) || !Number.isFinite(upperMs) || lowerMs > upperMs) {
    throw new InvalidOptionError(`intervalJoin(): lowerMs and upperMs must be finite with lowerMs <= upperMs (got ${String(lowerMs)}, ${String(upperMs)})`);
  }
  const maxOutOfOrdernessMs = requireNonNegativeNumber('intervalJoin maxOutOfOrdernessMs', options.maxOutOfOrdernessMs ?? 0);
  const idleTimeoutMs = options.idleTimeoutMs === undefined ? undefined : requireNonNegativeNumber('intervalJoin idleTimeoutMs', options.idleTimeoutMs);
  const leftKey = options.key?.left;
  const rightKey = options.key?.right;
  const leftTime = options.time?.left;
  const rightTime = options.time?.right;

  // Not built on `operate`: two inputs, and an idle timer outside `next`.
  return (left) =>
    new Observable<Envelope<B>>((subscriber) => {
      const ctx = operatorContext();
      const stage = ctx?.uniqueStage(stageOptions?.stage ?? 'interval-join') ?? stageOptions?.stage ?? 'interval-join';
      const scheduler = ctx?.scheduler ?? asyncScheduler;
      const clock = ctx?.clock ?? systemClock;
      const state = new IntervalJoinState<L, R>(lowerMs, upperMs, new WatermarkTracker({ maxOutOfOrdernessMs, idleTimeoutMs, clock }));
      let pending = 0;
      ctx?.checkpointed(stage, {
        snapshot: (scopes) => state.snapshot(scopes),
        restore: (snapshot) => state.restore(snapshot as IntervalJoinSnapshot<L, R>),
        quiescent: () => pending === 0,
        dropScope: (scope) => state.dropScope(scope),
      });
      const fail = (error: unknown, record?: Envelope<unknown>) => subscriber.error(error instanceof StageError ? error : new StageError(stage, record?.position, error));

      const pair = (cause: Envelope<unknown>, l: JoinEntry<L>, r: JoinEntry<R>) => {
        pending++;
        subscriber.next({
          key: l.key,
          value: options.join(l.value, r.value),
          timestamp: Math.max(l.time, r.time),
          position: cause.position,
          headers: cause.headers,
          trace: cause.trace,
          receivedAt: cause.receivedAt,
          original: undefined,
          ticket: resultTicket(cause.ticket, () => pending--),
        });
      };
      let timer: Subscription | undefined;
      const arm = () => {
        if (timer !== undefined) return;
        const at = state.watermarks.nextIdleAt();
        if (at === undefined) return;
        timer = scheduler.schedule(() => {
          timer = undefined;
          state.advance();
          arm();
        }, Math.max(0, at - clock.now()));
      };
      const take = <V>(
        record: Envelope<V>,
        keyOf: ((value: V) => string) | undefined,
        timeOf: ((value: V) => number) | undefined,
        side: 'left' | 'right',
        add: (entry: JoinEntry<V>, onPair: (l: JoinEntry<L>, r: JoinEntry<R>) => void) => void,
      ) => {
        try {
          const key = keyOf === undefined ? record.key : keyOf(record.value);
          if (typeof key !== 'string') throw new InvalidOptionError(`intervalJoin: the ${side} record has no key — put keyBy(...) before the join or give options.key.${side}`);
          const time = timeOf === undefined ? record.timestamp : timeOf(record.value);
          if (!Number.isFinite(time)) throw new InvalidOptionError(`intervalJoin: the ${side} record's event time is ${String(time)}, not a number of ms`);
          const scope = stateScope(record);
          add({ scope, key, time, value: record.value }, (l, r) => pair(record, l, r));
          state.observe(scope, time);
          arm();
        } catch (error) {
          fail(error, record);
          return;
        }
        // In the buffers, or matching nothing more: the record's own part is done (its pairs hold it).
        record.ticket.release();
      };

      let open = 2;
      const complete = () => {
        open--;
        if (open > 0) return;
        timer?.unsubscribe();
        // An inner join emits nothing at the end; a resumable stop keeps the buffers in the checkpoint.
        if ((ctx?.atEnd() ?? 'fire') === 'fire') state.clear();
        subscriber.complete();
      };
      const subscriptions = [
        left.subscribe({ next: (record) => take(record, leftKey, leftTime, 'left', (entry, onPair) => state.left(entry, onPair)), error: (error: unknown) => subscriber.error(error), complete }),
        right.subscribe({ next: (record) => take(record, rightKey, rightTime, 'right', (entry, onPair) => state.right(entry, onPair)), error: (error: unknown) => subscriber.error(error), complete }),
      ];
      return () => {
        for (const subscription of subscriptions) subscription.unsubscribe();
        timer?.unsubscribe();
      };
    });
}
