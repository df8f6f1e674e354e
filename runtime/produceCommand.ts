import { CompressionTypes, type Message } from 'kafkajs';
import { InvalidOptionError, SluiceError } from '../core/errors.ts';
import type { KafkaSettings } from '../core/job.ts';
import { createKafka, kafkaTuning } from '../connectors/kafka/config.ts';
import { brokersUnreachable, describeKafkaError, isTransientKafkaError } from '../connectors/kafka/errors.ts';
import { Random } from '../jobs/fraud/random.ts';
import { TransactionGenerator, type Transaction } from '../jobs/fraud/transactions.ts';

/** Everything `sluice produce` was told. */
export interface ProduceOptions {
  brokers: string[];
  topic: string;
  /** Transactions to write (garbage records come on top). */
  count: number;
  /** Records per second; as fast as the brokers take them when undefined. */
  rate: number | undefined;
  /** Records per produce request (the mock broker serves one request's batch per fetch). */
  batchSize: number;
  /** Share of extra records that are not valid transactions, in [0, 1). */
  garbageRatio: number;
  seed: number;
  users: number;
  fraudRatio: number;
  /** Partitions of the topic when it has to be created. */
  partitions: number;
  compression: 'none' | 'gzip';
}

export interface ProduceOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processOutput: ProduceOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * Writes synthetic card transactions (the fraud job's input) to a Kafka topic, keyed by user so
 * a user's transactions share a partition, in large batches; with `garbageRatio` some records
 * that are not transactions, to show dead-lettering. Creates the topic when it is missing.
 *
 * @example
 * await produceCommand({ brokers: ['localhost:9092'], topic: 'transactions', count: 100_000, ... });
 */
export async function produceCommand(options: ProduceOptions, output: ProduceOutput = processOutput): Promise<number> {
  try {
    validate(options);
    const settings: KafkaSettings = { brokers: options.brokers, groupId: 'sluice-produce', clientId: 'sluice', start: 'earliest' };
    const kafka = createKafka(settings, kafkaTuning(), 'produce');
    await ensureTopic(kafka, options, output);
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
    try {
      await producer.connect();
    } catch (error) {
      throw brokersUnreachable(options.brokers, error);
    }
    try {
      const stats = await produceAll(options, (messages) =>
        producer.send({ topic: options.topic, acks: -1, compression: options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None, messages }),
      );
      const seconds = stats.elapsedMs / 1000;
      output.out(
        `produced ${fmt(stats.transactions)} transactions` +
          (stats.garbage > 0 ? ` and ${fmt(stats.garbage)} garbage records` : '') +
          ` to ${options.topic} in ${seconds.toFixed(1)} s (${fmt((stats.transactions + stats.garbage) / Math.max(seconds, 1e-3))} records/s)\n`,
      );
    } finally {
      await producer.disconnect().catch(() => {});
    }
    return 0;
  } catch (error) {
    const message =
      error instanceof SluiceError
        ? error.message
        : isTransientKafkaError(error)
          ? brokersUnreachable(options.brokers, error).message
          : `could not produce to ${options.topic}: ${describeKafkaError(error)}`;
    output.err(`sluice: ${message}\n`);
    return 1;
  }
}

function validate(options: ProduceOptions): void {
  if (options.brokers.length === 0) throw new InvalidOptionError('--brokers (or KAFKA_BROKERS) is required: the Kafka bootstrap list, host:port,...');
  if (!(options.garbageRatio >= 0 && options.garbageRatio < 1)) throw new InvalidOptionError(`--garbage-ratio must be at least 0 and below 1 (got ${options.garbageRatio})`);
}

async function ensureTopic(kafka: ReturnType<typeof createKafka>, options: ProduceOptions, output: ProduceOutput): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw brokersUnreachable(options.brokers, error);
  }
  try {
    const topics = await admin.listTopics();
    if (topics.includes(options.topic)) return;
    await admin.createTopics({ topics: [{ topic: options.topic, numPartitions: options.partitions }], waitForLeaders: true });
    output.err(`created topic ${options.topic} with ${options.partitions} partitions\n`);
  } catch (error) {
    throw new SluiceError(`topic ${options.topic} does not exist and could not be created (${describeKafkaError(error)}) — create it with your Kafka tools and run again`, { cause: error });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Makes the records and hands them to `send` in batches, paced when a rate is given. Exported
 * for the benchmark, which produces the same stream without the command line around it.
 */
export async function produceAll(
  options: Pick<ProduceOptions, 'count' | 'rate' | 'batchSize' | 'garbageRatio' | 'seed' | 'users' | 'fraudRatio'>,
  send: (messages: Message[]) => Promise<unknown>,
): Promise<{ transactions: number; garbage: number; elapsedMs: number }> {
  const generator = new TransactionGenerator({ seed: options.seed, users: options.users, fraudRatio: options.fraudRatio });
  const random = new Random(options.seed ^ 0x5eed);
  // Paced runs send small batches often, so the rate is smooth rather than one burst a second.
  const batchSize = options.rate === undefined ? options.batchSize : Math.max(1, Math.min(options.batchSize, Math.ceil(options.rate / 100)));
  const started = performance.now();
  let transactions = 0;
  let garbage = 0;
  let batch: Message[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const messages = batch;
    batch = [];
    await send(messages);
    if (options.rate !== undefined) {
      const due = started + ((transactions + garbage) * 1000) / options.rate;
      const ahead = due - performance.now();
      if (ahead > 1) await new Promise((resolve) => setTimeout(resolve, ahead));
    }
  };
  while (transactions < options.count) {
    if (options.garbageRatio > 0 && random.chance(options.garbageRatio)) {
      batch.push(garbageRecord(random, generator.next()));
      garbage += 1;
    } else {
      const tx = generator.next();
      batch.push({ key: tx.userId, value: JSON.stringify(tx) });
      transactions += 1;
    }
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return { transactions, garbage, elapsedMs: performance.now() - started };
}

/** A record the fraud job must dead-letter: broken JSON, a wrong or missing field, or not text. */
export function garbageRecord(random: Random, tx: Transaction): Message {
  const json = JSON.stringify(tx);
  switch (random.int(5)) {
    case 0:
      return { key: tx.userId, value: json.slice(0, Math.max(1, Math.floor(json.length / 2))) };
    case 1:
      return { key: tx.userId, value: JSON.stringify({ ...tx, amount: 'ten dollars' }) };
    case 2: {
      const { merchantId: _dropped, ...rest } = tx;
      return { key: tx.userId, value: JSON.stringify(rest) };
    }
    case 3:
      return { key: tx.userId, value: json.replace(/"amount":[^,]+/, '"amount":NaN') };
    default:
      return { key: tx.userId, value: Buffer.from([0xff, 0xfe, 0x00, 0x7b]) };
  }
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
