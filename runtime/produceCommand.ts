import { CompressionTypes, type Message } from 'kafkajs';
import { InvalidOptionError, SluiceError } from '../core/errors.ts';
import type { KafkaSettings } from '../core/job.ts';
import { createKafka, kafkaTuning } from '../connectors/kafka/config.ts';
import { brokersUnreachable, describeKafkaError, kafkaError } from '../connectors/kafka/errors.ts';
import type { Job } from '../core/defineJob.ts';
import type { Generator } from '../core/streams.ts';
import { resolveSettings } from '../core/settings.ts';
import { loadJob } from './loadJob.ts';

/** Everything `sluice produce` was told. */
export interface ProduceOptions {
  /** The job whose generator makes the records. */
  jobPath: string;
  /** Which of its inputs (default: its only one). */
  input: string | undefined;
  /** `--set` texts for the job's settings (seed, users, ...). */
  settings: Record<string, string>;
  brokers: string[];
  /** The topic (default: the input's). */
  topic: string | undefined;
  /** Records to write (garbage records come on top). */
  count: number;
  /** Records per second; as fast as the brokers take them when undefined. */
  rate: number | undefined;
  /** Records per produce request (the mock broker serves one request's batch per fetch). */
  batchSize: number;
  /** Share of extra records that are not valid input, in [0, 1). */
  garbageRatio: number;
  /** Seed of the garbage choices. */
  seed: number;
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
 * Writes a job's sample records (its `generate`) to the Kafka topic of one of its inputs, keyed
 * as the input declares so a key's records share a partition, in large batches; with
 * `garbageRatio` some records that are not valid input, to show dead-lettering. Creates the
 * topic when it is missing.
 *
 * @example
 * await produceCommand({ jobPath: 'jobs/fraud-detection.ts', brokers: ['localhost:9092'], count: 100_000, ... });
 */
export async function produceCommand(given: ProduceOptions, output: ProduceOutput = processOutput): Promise<number> {
  let options = given;
  try {
    validate(options);
    const job = await loadJob(options.jobPath);
    const { name, generator, key, topic } = sampleInput(job, options);
    options = { ...options, topic };
    const settings: KafkaSettings = { brokers: options.brokers, groupId: 'sluice-produce', clientId: 'sluice', start: 'earliest' };
    const kafka = createKafka(settings, kafkaTuning(), 'produce');
    await ensureTopic(kafka, { ...options, topic }, output);
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
    try {
      await producer.connect();
    } catch (error) {
      throw brokersUnreachable(options.brokers, error);
    }
    try {
      const stats = await produceAll(generator, key, options, (messages) =>
        producer.send({ topic, acks: -1, compression: options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None, messages }),
      );
      const seconds = stats.elapsedMs / 1000;
      output.out(
        `produced ${fmt(stats.records)} ${name} records` +
          (stats.garbage > 0 ? ` and ${fmt(stats.garbage)} garbage records` : '') +
          ` to ${topic} in ${seconds.toFixed(1)} s (${fmt((stats.records + stats.garbage) / Math.max(seconds, 1e-3))} records/s)\n`,
      );
    } finally {
      await producer.disconnect().catch(() => {});
    }
    return 0;
  } catch (error) {
    const message = error instanceof SluiceError ? error.message : kafkaError(error, `could not produce to ${options.topic ?? 'the topic'}`, options.brokers).message;
    output.err(`sluice: ${message}\n`);
    return 1;
  }
}

function validate(options: ProduceOptions): void {
  if (options.brokers.length === 0) throw new InvalidOptionError('--brokers (or KAFKA_BROKERS) is required: the Kafka bootstrap list, host:port,...');
  if (!(options.garbageRatio >= 0 && options.garbageRatio < 1)) throw new InvalidOptionError(`--garbage-ratio must be at least 0 and below 1 (got ${options.garbageRatio})`);
}

/** The input to produce for, its generator and key, and its topic. */
function sampleInput(job: Job, options: ProduceOptions): { name: string; generator: Generator<unknown>; key: ((value: unknown) => string) | undefined; topic: string } {
  const names = Object.keys(job.inputs);
  const name = options.input ?? (names.length === 1 ? names[0]! : undefined);
  if (name === undefined || job.inputs[name] === undefined) throw new InvalidOptionError(`--input: choose one of the job's inputs (${names.join(', ')})`);
  const generator = job.generators(resolveSettings(job.settings, options.settings))[name];
  if (generator === undefined) throw new InvalidOptionError(`job ${job.name} has no generator for input ${name}: it cannot make sample records (add \`generate\` to the job)`);
  const spec = job.inputs[name]!;
  return { name, generator, key: spec.key, topic: options.topic ?? spec.topic };
}

async function ensureTopic(kafka: ReturnType<typeof createKafka>, options: ProduceOptions & { topic: string }, output: ProduceOutput): Promise<void> {
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
  generator: Generator<unknown>,
  key: ((value: unknown) => string) | undefined,
  options: Pick<ProduceOptions, 'count' | 'rate' | 'batchSize' | 'garbageRatio' | 'seed'>,
  send: (messages: Message[]) => Promise<unknown>,
): Promise<{ records: number; garbage: number; elapsedMs: number }> {
  const random = new GarbageRandom(options.seed ^ 0x5eed);
  // Paced runs send small batches often, so the rate is smooth rather than one burst a second.
  const batchSize = options.rate === undefined ? options.batchSize : Math.max(1, Math.min(options.batchSize, Math.ceil(options.rate / 100)));
  const count = Math.min(options.count, generator.count);
  const started = performance.now();
  let records = 0;
  let garbage = 0;
  let batch: Message[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const messages = batch;
    batch = [];
    await send(messages);
    if (options.rate !== undefined) {
      const due = started + ((records + garbage) * 1000) / options.rate;
      const ahead = due - performance.now();
      if (ahead > 1) await new Promise((resolve) => setTimeout(resolve, ahead));
    }
  };
  while (records < count) {
    const value = generator.make(records);
    const messageKey = key?.(value) ?? null;
    // Garbage comes on top of `count` good records.
    if (options.garbageRatio > 0 && random.next() < options.garbageRatio) {
      batch.push({ key: messageKey, value: garbageRecord(random, value) });
      garbage += 1;
    } else {
      batch.push({ key: messageKey, value: JSON.stringify(value) });
      records += 1;
    }
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return { records, garbage, elapsedMs: performance.now() - started };
}

/**
 * A record a job must dead-letter, made from a good one: broken JSON, a field of the wrong
 * type, a missing field, NaN where a number goes, or bytes that are not UTF-8.
 */
export function garbageRecord(random: GarbageRandom, value: unknown): string | Buffer {
  const json = JSON.stringify(value);
  const fields = typeof value === 'object' && value !== null ? Object.keys(value) : [];
  const numeric = fields.find((f) => typeof (value as Record<string, unknown>)[f] === 'number');
  switch (random.int(5)) {
    case 0:
      return json.slice(0, Math.max(1, Math.floor(json.length / 2)));
    case 1:
      return numeric === undefined ? '"not an object"' : JSON.stringify({ ...(value as object), [numeric]: 'ten dollars' });
    case 2: {
      const rest = { ...(value as Record<string, unknown>) };
      if (fields[0] !== undefined) delete rest[fields[0]];
      return JSON.stringify(rest);
    }
    case 3:
      return numeric === undefined ? 'NaN' : json.replace(new RegExp(`"${numeric}":[^,}]+`), `"${numeric}":NaN`);
    default:
      return Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
  }
}

/** A small seeded generator (mulberry32), so the same seed gives the same garbage. */
export class GarbageRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
