import type { Ticket } from '../../core/completion.ts';
import type { Envelope, SourcePosition } from '../../core/record.ts';
import { withValue } from '../../core/record.ts';

/**
 * A window's aggregate, emitted when the watermark passes the window's end and again for each
 * late record that updates it within the allowed lateness. Consumers that store results should
 * upsert by (key, start, end): a later `firing` replaces an earlier one.
 */
export interface WindowResult<R> {
  readonly kind: 'window';
  readonly key: string;
  /** Event-time window `[start, end)`, ms since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly result: R;
  /** 0 for the first emission; n for the n-th update by late records. */
  readonly firing: number;
}

/**
 * The side output: a record that no window could take. `late` — every window it belongs to is
 * already past its allowed lateness; `invalid-timestamp` — its event time is not a number.
 */
export interface LateRecord<T> {
  readonly kind: 'late';
  readonly reason: 'late' | 'invalid-timestamp';
  /** One readable sentence for logs and dead letters. */
  readonly message: string;
  readonly key: string | undefined;
  readonly value: T;
  /** The record's event time; null when it had none. */
  readonly timestamp: number | null;
  /** The watermark it was judged against; null before the first watermark. */
  readonly watermark: number | null;
}

/** What a window operator emits: results, and (in the same stream, told apart by `kind`) its side output. */
export type WindowOutput<R, T> = WindowResult<R> | LateRecord<T>;

/** True for a window result (narrows the type). */
export function isWindowResult<R, T>(output: WindowOutput<R, T>): output is WindowResult<R> {
  return output.kind === 'window';
}

/** True for a side-output record (narrows the type). */
export function isLateRecord<R, T>(output: WindowOutput<R, T>): output is LateRecord<T> {
  return output.kind === 'late';
}

/**
 * A window result in an envelope: keyed like its window, timed at the window's end, at the
 * position of the record that fired it (or of its scope), holding `ticket` until written.
 *
 * @example
 * emit(resultEnvelope(result, window.maxTimestamp, position, cause, ticket));
 */
export function resultEnvelope<R>(value: WindowResult<R>, timestamp: number, position: SourcePosition, cause: Envelope<unknown> | undefined, ticket: Ticket): Envelope<WindowResult<R>> {
  return { key: value.key, value, timestamp, position, headers: {}, trace: undefined, receivedAt: cause?.receivedAt ?? performance.now(), original: undefined, ticket };
}

/**
 * A record too late for any window, as the side output (it keeps its own envelope and ticket).
 *
 * @example
 * emit(lateEnvelope(record, 'late', 'window [0, 60000) closed at watermark 95000', 1_000, 95_000));
 */
export function lateEnvelope<T>(record: Envelope<T>, reason: LateRecord<T>['reason'], message: string, timestamp: number | null, watermark: number): Envelope<LateRecord<T>> {
  return withValue(record, { kind: 'late', reason, message, key: record.key, value: record.value, timestamp, watermark: Number.isFinite(watermark) ? watermark : null });
}
