import type { DeadLetter, KafkaSettings, Sink } from '../../../core/job.ts';
import type { Envelope } from '../../../core/record.ts';
import type { KafkaTuning } from '../config.ts';
import type { PartitionTransactions } from '../transactions/partitionTransactions.ts';
import { kafkaSink } from './kafkaSink.ts';

/** Header names of a dead letter, for consumers of the dead-letter topic. */
export const DEAD_LETTER_HEADERS = {
  reason: 'dead-letter-reason',
  stage: 'dead-letter-stage',
  at: 'dead-letter-at',
  topic: 'source-topic',
  partition: 'source-partition',
  offset: 'source-offset',
} as const;

export interface KafkaDeadLetterSinkOptions {
  settings: KafkaSettings;
  topic: string;
  tuning?: Partial<KafkaTuning>;
  log?: (line: string) => void;
  /** Exactly once: dead letters go into the transaction of the input partition they came from. */
  transactions?: PartitionTransactions;
}

/**
 * Writes dead letters to a Kafka topic: the original bytes as the value (so the record can be
 * fixed and replayed as is), the original key, and in headers why and where it failed
 * (`dead-letter-reason`, `dead-letter-stage`, `dead-letter-at`) and where it came from
 * (`source-topic`, `source-partition`, `source-offset`), plus the trace context.
 *
 * @example
 * deadLetter: (env) => kafkaDeadLetterSink({ settings: env.kafka!, topic: 'fraud-dead-letters' })
 */
export function kafkaDeadLetterSink(options: KafkaDeadLetterSinkOptions): Sink<DeadLetter> & { readonly topic: string } {
  return kafkaSink<DeadLetter>({
    settings: options.settings,
    topic: options.topic,
    ...(options.tuning === undefined ? {} : { tuning: options.tuning }),
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.transactions === undefined ? {} : { transactions: options.transactions }),
    // The key's own bytes when the source kept them, so a key that is not UTF-8 survives byte for byte.
    key: (record) => (record.value.originalKey === undefined ? record.value.key : Buffer.from(record.value.originalKey.buffer, record.value.originalKey.byteOffset, record.value.originalKey.byteLength)),
    encode: (record) => (record.value.original === undefined ? null : Buffer.from(record.value.original.buffer, record.value.original.byteOffset, record.value.original.byteLength)),
    headers: deadLetterHeaders,
  });
}

function deadLetterHeaders(record: Envelope<DeadLetter>): Record<string, string> {
  const letter = record.value;
  const headers: Record<string, string> = {
    [DEAD_LETTER_HEADERS.reason]: letter.reason,
    [DEAD_LETTER_HEADERS.stage]: letter.stage,
    [DEAD_LETTER_HEADERS.at]: new Date(letter.at).toISOString(),
    [DEAD_LETTER_HEADERS.topic]: letter.topic,
    [DEAD_LETTER_HEADERS.partition]: String(letter.partition),
    [DEAD_LETTER_HEADERS.offset]: String(letter.offset),
  };
  if (record.trace !== undefined) headers.traceparent = record.trace.traceparent;
  return headers;
}
