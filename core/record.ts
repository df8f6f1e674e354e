import type { Ticket } from './completion.ts';

/** Where a record came from: enough to commit past it and to scope its state. */
export interface SourcePosition {
  /** Topic, file or generator name. */
  readonly topic: string;
  readonly partition: number;
  /** Offsets increase within a partition. Kafka's int64 offsets fit a double up to 2^53. */
  readonly offset: number;
}

/** W3C trace context carried with a record (and in Kafka headers as `traceparent`). */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/**
 * The envelope every record travels in through a job. Operators change `value` (and `key`)
 * but keep the rest: the position is what gets committed, the ticket is what says "done".
 */
export interface Envelope<V> {
  readonly key: string | undefined;
  readonly value: V;
  /** Event time, ms since the epoch. */
  readonly timestamp: number;
  readonly position: SourcePosition;
  readonly headers: Readonly<Record<string, string>>;
  readonly trace: TraceCarrier | undefined;
  /** Processing time (ms, monotonic `performance.now()`) when the record entered the job. */
  readonly receivedAt: number;
  /** The raw bytes the source read, kept for dead letters. */
  readonly original: Uint8Array | undefined;
  /** The raw key bytes when the source read them (Kafka), so a dead letter keeps them even when they are not UTF-8. */
  readonly originalKey?: Uint8Array | undefined;
  /** Completion handle: the record is done when its ticket is released. */
  readonly ticket: Ticket;
}

/** What a source hands to the engine: an envelope before it has a ticket. */
export interface SourceRecord<V> {
  key?: string | undefined;
  value: V;
  timestamp?: number;
  position: SourcePosition;
  headers?: Record<string, string>;
  trace?: TraceCarrier | undefined;
  original?: Uint8Array | undefined;
  originalKey?: Uint8Array | undefined;
}

/**
 * A copy of `record` with a new value; everything else (position, ticket, trace) is kept.
 *
 * @example
 * const scored = withValue(record, { ...record.value, score: 0.93 });
 */
export function withValue<A, B>(record: Envelope<A>, value: B): Envelope<B> {
  return {
    key: record.key,
    value,
    timestamp: record.timestamp,
    position: record.position,
    headers: record.headers,
    trace: record.trace,
    receivedAt: record.receivedAt,
    original: record.original,
    originalKey: record.originalKey,
    ticket: record.ticket,
  };
}

/**
 * A copy of `record` under a new key.
 *
 * @example
 * const byUser = withKey(record, record.value.userId);
 */
export function withKey<V>(record: Envelope<V>, key: string): Envelope<V> {
  return { ...record, key };
}

/** The header map with one entry set, leaving the original untouched. */
export function withHeader<V>(record: Envelope<V>, name: string, value: string): Envelope<V> {
  return { ...record, headers: { ...record.headers, [name]: value } };
}
