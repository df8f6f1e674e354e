import type { KafkaMessage } from 'kafkajs';
import { describeError } from '../../../core/errors.ts';
import type { SourceContext } from '../../../core/job.ts';
import type { SourceRecord } from '../../../core/record.ts';
import { readHeaders, traceFromHeaders } from '../headers.ts';

/** How a Kafka message becomes a record of the job. */
export interface RecordReading<T> {
  /** Bytes to value; a throw dead-letters the record with the message as the reason. */
  readonly decode: (bytes: Uint8Array) => T;
  /** Event time of a value; default the Kafka record's timestamp. */
  readonly timestamp?: ((value: T) => number) | undefined;
  /** The record key from its value; default the Kafka message key. */
  readonly key?: ((value: T) => string) | undefined;
}

/**
 * Hands one Kafka message to the job — or to the dead-letter sink when it has no value (a
 * tombstone) or does not decode. Returns what `emit` returns: a promise when the source must wait.
 *
 * @example
 * const wait = admitMessage(ctx, { decode: jsonDecoder(parse) }, 'tx', 0, 42, message);
 * if (wait !== undefined) await wait;
 */
export function admitMessage<T>(ctx: SourceContext<T>, reading: RecordReading<T>, topic: string, partition: number, offset: number, message: KafkaMessage): Promise<void> | undefined {
  const headers = readHeaders(message.headers);
  const key = message.key === null ? undefined : message.key.toString('utf8');
  const originalKey = message.key ?? undefined;
  const position = { topic, partition, offset };
  const trace = headers.traceparent === undefined ? undefined : traceFromHeaders(headers);
  const bytes = message.value;
  const timestamp = Number(message.timestamp);
  if (bytes === null) {
    return ctx.deadLetter({ key, originalKey, value: undefined, position, headers, trace, timestamp }, 'record has no value (a tombstone)');
  }
  let value: T;
  try {
    value = reading.decode(bytes);
  } catch (error) {
    return ctx.deadLetter({ key, originalKey, value: undefined, position, headers, trace, original: bytes, timestamp }, describeError(error));
  }
  const record: SourceRecord<T> = {
    key: reading.key === undefined ? key : reading.key(value),
    originalKey,
    value,
    timestamp: reading.timestamp === undefined ? timestamp : reading.timestamp(value),
    position,
    headers,
    trace,
    original: bytes,
  };
  return ctx.emit(record);
}
