import type { CompressionTypes, Message } from 'kafkajs';
import { InvalidOptionError, requireNonNegativeNumber, requirePositiveInteger } from '../../../core/errors.ts';
import type { KafkaSettings, Sink } from '../../../core/job.ts';
import type { Envelope } from '../../../core/record.ts';
import { kafkaTuning, logKafkaLine, type KafkaTuning } from '../config.ts';
import { outputHeaders } from '../headers.ts';
import type { PartitionTransactions } from '../transactions/partitionTransactions.ts';
import { ProducerQueue } from './producerQueue.ts';
import { MAX_REQUEST_BYTES } from './requestChunks.ts';
import { transactionalWrite } from './transactionalWrite.ts';

export interface KafkaSinkOptions<T> {
  /** Brokers and client id: `env.kafka` of the run. */
  settings: KafkaSettings;
  topic: string;
  /** The message value; default the record's value as JSON. */
  encode?: (record: Envelope<T>) => Buffer | string | null;
  /** The message key (it picks the partition); default the record's key. Bytes are written as they are. */
  key?: (record: Envelope<T>) => string | Buffer | undefined;
  /** Message headers; default `traceparent` (and `tracestate`) and `model-version` when known. */
  headers?: (record: Envelope<T>) => Record<string, string>;
  /** Most messages per produce request. Default 10,000. */
  batchSize?: number;
  /**
   * Most bytes per produce request (keys, values and headers, with each record's framing counted
   * at its most). Default 1,000,000: the broker refuses a partition's batch over its
   * `message.max.bytes` (1 MiB by default), and a request bounds each of its partitions' batches.
   * One request is in flight at a time (per-key order), so this is what the sink can write per
   * round trip to the broker.
   */
  maxRequestBytes?: number;
  /**
   * How long a send waits for more records when it holds fewer than `batchSize`. Default 0:
   * the engine already hands over everything that arrived while the previous send was on the way.
   */
  lingerMs?: number;
  /** -1 (all in-sync replicas, the default) or 1 (the leader). A record is done only once acknowledged. */
  acks?: -1 | 1;
  compression?: CompressionTypes;
  /** Overrides of the client timings (otherwise defaults and SLUICE_KAFKA_* variables). */
  tuning?: Partial<KafkaTuning>;
  /** Where operator-facing lines go (outages, recoveries); default stderr. */
  log?: (line: string) => void;
  /**
   * Exactly once: each record is written in the open transaction of the input partition it
   * came from, visible to read_committed readers once the checkpoint commits it. Without it,
   * at least once.
   */
  transactions?: PartitionTransactions;
}

/**
 * Writes a job's output to a Kafka topic, keyed, in batches; a write resolves only after the
 * broker acknowledged every record of it, so offsets are committed behind the sink. While the
 * brokers are unreachable it retries with backoff (up to SLUICE_KAFKA_DELIVERY_TIMEOUT_MS),
 * and the in-flight budget holds the source back meanwhile: nothing is dropped, memory stays
 * bounded. Not idempotent: a retried send can write a record twice (at least once).
 *
 * @example
 * sink: (env) => kafkaSink<FraudDecision>({ settings: env.kafka!, topic: 'fraud-decisions' })
 */
export function kafkaSink<T>(options: KafkaSinkOptions<T>): Sink<T> & { readonly topic: string } {
  if (typeof options.topic !== 'string' || options.topic === '') throw new InvalidOptionError('kafkaSink: topic must be a non-empty topic name');
  const batchSize = requirePositiveInteger('batchSize', options.batchSize ?? 10_000);
  const maxRequestBytes = requirePositiveInteger('maxRequestBytes', options.maxRequestBytes ?? MAX_REQUEST_BYTES);
  const lingerMs = requireNonNegativeNumber('lingerMs', options.lingerMs ?? 0);
  const encode = options.encode ?? ((record: Envelope<T>) => JSON.stringify(record.value));
  const key = options.key ?? ((record: Envelope<T>) => record.key);
  const headers = options.headers ?? outputHeaders;
  const toMessage = (record: Envelope<T>): Message => ({ key: key(record) ?? null, value: encode(record), headers: headers(record) });
  if (options.transactions !== undefined) {
    const transactions = options.transactions;
    transactions.writesTo(options.topic);
    return { name: `kafka:${options.topic}`, topic: options.topic, write: (records) => transactionalWrite(transactions, options.topic, records, toMessage) };
  }
  const queue = new ProducerQueue({
    settings: options.settings,
    tuning: kafkaTuning(process.env, options.tuning),
    topic: options.topic,
    batchSize,
    maxRequestBytes,
    lingerMs,
    acks: options.acks ?? -1,
    compression: options.compression,
    log: options.log ?? logKafkaLine,
  });
  return {
    name: `kafka:${options.topic}`,
    topic: options.topic,
    write(records) {
      const messages = new Array<Message>(records.length);
      for (let i = 0; i < records.length; i += 1) messages[i] = toMessage(records[i]!);
      return queue.send(messages);
    },
    flush: () => queue.flush(),
    close: () => queue.close(),
  };
}
