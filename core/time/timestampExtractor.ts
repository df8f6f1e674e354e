import type { Envelope } from '../record.ts';
import { InvalidTimestampError } from './errors.ts';

/**
 * Reads a record's event time (ms since the epoch), as Flink's `TimestampAssigner` does. The
 * default is the envelope's `timestamp`, which sources set from their own `timestamp` option.
 *
 * @example
 * const byValue: TimestampExtractor<Transaction> = (tx) => tx.timestamp;
 */
export type TimestampExtractor<T> = (value: T, record: Envelope<T>) => number;

/** The envelope's own event time. */
export function recordTimestamp<T>(_value: T, record: Envelope<T>): number {
  return record.timestamp;
}

/**
 * Runs an extractor and checks what it returns: a finite number, or an
 * {@link InvalidTimestampError} value (returned, not thrown, so the caller can route the record
 * to a side output without a try/catch on the hot path). A throwing extractor counts as invalid.
 *
 * @example
 * const ts = extractTimestamp((tx: Transaction) => tx.timestamp, record);
 * if (ts instanceof InvalidTimestampError) sideOutput(record, ts.message);
 */
export function extractTimestamp<T>(extractor: TimestampExtractor<T>, record: Envelope<T>): number | InvalidTimestampError {
  let timestamp: unknown;
  try {
    timestamp = extractor(record.value, record);
  } catch (error) {
    return new InvalidTimestampError(error instanceof Error ? `extractor threw: ${error.message}` : error);
  }
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return new InvalidTimestampError(timestamp);
  return timestamp;
}
