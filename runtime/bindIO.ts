import { consoleSink } from '../connectors/consoleSink.ts';
import type { CommittedFiles } from '../connectors/committedFiles.ts';
import { deadLetterFileSink, describeDeadLetter } from '../connectors/deadLetterFileSink.ts';
import { generatorSource } from '../connectors/generatorSource.ts';
import { jsonlFileSink } from '../connectors/jsonlFileSink.ts';
import { jsonlFileSource } from '../connectors/jsonlFileSource.ts';
import { kafkaDeadLetterSink } from '../connectors/kafka/producer/kafkaDeadLetterSink.ts';
import { kafkaSink } from '../connectors/kafka/producer/kafkaSink.ts';
import { kafkaSource } from '../connectors/kafka/consumer/kafkaSource.ts';
import { describeKafkaSecurity } from '../connectors/kafka/security.ts';
import type { PartitionTransactions } from '../connectors/kafka/transactions/partitionTransactions.ts';
import { jsonDecoder } from '../core/decode.ts';
import type { Job } from '../core/defineJob.ts';
import { InvalidOptionError } from '../core/errors.ts';
import type { DeadLetter, KafkaSettings, Sink, Source } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';

/** Where the command line said a job's inputs and outputs are. */
export interface BindingOptions {
  /** Kafka when set: every input and output is a topic. */
  readonly kafka: KafkaSettings | undefined;
  /** `--topic name=topic`: a logical input or output read from / written to another topic. */
  readonly topics: Readonly<Record<string, string>>;
  /** `--input name=file.jsonl`: an input read from a file instead of the job's generator. */
  readonly inputFiles: Readonly<Record<string, string>>;
  /** `--output name=file.jsonl|-|none`: where an embedded output goes (default `out/<topic>.jsonl`). */
  readonly outputFiles: Readonly<Record<string, string>>;
  /** Files are written afresh or appended to. */
  readonly outputMode: 'overwrite' | 'append';
  /** `--input-topic` / `--output-topic`: the topic of a job's only input or output. */
  readonly inputTopic?: string | undefined;
  readonly outputTopic?: string | undefined;
  /** The dead-letter topic (Kafka) instead of the job's own. */
  readonly deadLetterTopic?: string | undefined;
  /** The job's resolved settings, for its generators. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Exactly once: outputs and dead letters go into these per-partition Kafka transactions. */
  readonly transactions?: PartitionTransactions | undefined;
  /** Exactly once, embedded: output and dead-letter files show only what checkpoints committed. */
  readonly committedFiles?: CommittedFiles | undefined;
}

/** A job's inputs and outputs, bound to connectors, and a line per binding for the start-up log. */
export interface Binding {
  readonly sources: Record<string, Source<unknown>>;
  readonly sinks: Record<string, Sink<unknown>>;
  readonly deadLetterSink: Sink<DeadLetter>;
  readonly describe: string[];
  /** The Kafka topics the job reads and writes (none when embedded), for the start-up check. */
  readonly topics: string[];
}

/**
 * Binds each declared input and output to a connector: Kafka topics with `--brokers`; otherwise
 * a JSONL file (`--input`), or the job's generator, and JSONL files or stdout for outputs. A name
 * on the command line that the job does not declare is one clear error.
 *
 * @example
 * const { sources, sinks, deadLetterSink } = bindIO(job, { kafka: undefined, topics: {}, inputFiles: {}, outputFiles: {}, outputMode: 'overwrite', settings });
 */
export function bindIO(job: Job, given: BindingOptions): Binding {
  const options = { ...given, topics: { ...only(job.inputs, '--input-topic', given.inputTopic), ...only(job.outputs, '--output-topic', given.outputTopic), ...given.topics } };
  checkNames(job, options);
  const describe: string[] = [];
  const topics: string[] = [];
  const sources: Record<string, Source<unknown>> = {};
  const sinks: Record<string, Sink<unknown>> = {};
  const kafka = options.kafka;
  const generators = kafka === undefined ? job.generators(options.settings) : {};

  for (const [name, spec] of Object.entries(job.inputs)) {
    const topic = options.topics[name] ?? spec.topic;
    const decode = jsonDecoder(spec.parse);
    const file = options.inputFiles[name];
    const generator = generators[name];
    if (kafka !== undefined) {
      topics.push(topic);
      sources[name] = kafkaSource({ settings: kafka, topic, decode, ...(spec.time === undefined ? {} : { timestamp: spec.time }), ...(spec.key === undefined ? {} : { key: spec.key }), transactional: options.transactions !== undefined });
      describe.push(`input ${name}: Kafka topic ${topic}`);
    } else if (file !== undefined) {
      sources[name] = jsonlFileSource({ path: file, decode, ...(spec.key === undefined ? {} : { key: spec.key }), ...(spec.time === undefined ? {} : { timestamp: spec.time }) });
      describe.push(`input ${name}: file ${file}`);
    } else if (generator !== undefined) {
      sources[name] = generatorSource({
        name: topic,
        count: generator.count,
        make: generator.make,
        ratePerSecond: generator.ratePerSecond,
        partitions: generator.partitions ?? 4,
        ...(spec.key === undefined ? {} : { key: spec.key }),
        ...(spec.time === undefined ? {} : { timestamp: spec.time }),
      });
      describe.push(`input ${name}: ${generator.count === Infinity ? 'endless' : generator.count.toLocaleString('en-US')} generated records${generator.ratePerSecond === undefined ? '' : ` at ${generator.ratePerSecond}/s`}`);
    } else {
      throw new InvalidOptionError(`input ${name} has nothing to read: pass --input ${name}=<file.jsonl>, or --brokers to read the Kafka topic ${topic}`);
    }
  }

  for (const [name, spec] of Object.entries(job.outputs)) {
    const topic = options.topics[name] ?? spec.topic;
    if (kafka !== undefined) {
      const key = spec.key;
      topics.push(topic);
      sinks[name] = kafkaSink<unknown>({ settings: kafka, topic, ...(key === undefined ? {} : { key: (record: Envelope<unknown>) => key(record.value) }), ...(options.transactions === undefined ? {} : { transactions: options.transactions }) });
      describe.push(`output ${name}: Kafka topic ${topic}`);
      continue;
    }
    const target = options.outputFiles[name] ?? `out/${topic}.jsonl`;
    if (target === 'none') {
      sinks[name] = { name: 'none', write: async () => {} };
      describe.push(`output ${name}: discarded`);
    } else if (target === '-') {
      if (options.committedFiles !== undefined) throw new InvalidOptionError(`--output ${name}=- writes to stdout, which cannot be taken back: exactly once needs a file (or none)`);
      sinks[name] = consoleSink();
      describe.push(`output ${name}: stdout`);
    } else if (options.committedFiles !== undefined) {
      sinks[name] = options.committedFiles.sink({ path: target, mode: options.outputMode });
      describe.push(`output ${name}: file ${target} (published at each checkpoint)`);
    } else {
      sinks[name] = jsonlFileSink({ path: target, mode: options.outputMode });
      describe.push(`output ${name}: file ${target} (${options.outputMode === 'append' ? 'appended to' : 'overwritten'})`);
    }
  }

  const deadLetterTopic = options.deadLetterTopic ?? job.deadLetterTopic;
  const deadLetterPath = `.sluice/${job.name}/dead-letters.jsonl`;
  const files = options.committedFiles;
  const deadLetterSink = kafka === undefined
    ? files === undefined ? deadLetterFileSink(deadLetterPath, options.outputMode) : Object.assign(files.sink<DeadLetter>({ path: deadLetterPath, mode: options.outputMode, format: (record) => describeDeadLetter(record.value) }), { path: deadLetterPath })
    : kafkaDeadLetterSink({ settings: kafka, topic: deadLetterTopic, ...(options.transactions === undefined ? {} : { transactions: options.transactions }) });
  describe.push(`dead letters: ${kafka === undefined ? `file ${deadLetterPath}` : `Kafka topic ${deadLetterTopic}`}`);
  if (kafka !== undefined) topics.push(deadLetterTopic);
  if (kafka !== undefined) describe.push(`kafka connection: ${describeKafkaSecurity(kafka.security)}`);
  if (options.transactions !== undefined) describe.push(`guarantee: exactly once (a transaction per input partition and checkpoint; read with isolation.level=read_committed)`);
  return { sources, sinks, deadLetterSink, describe, topics };
}

/** `--input-topic t` as `--topic <the only input>=t`. */
function only(declared: Readonly<Record<string, unknown>>, flag: string, topic: string | undefined): Record<string, string> {
  if (topic === undefined) return {};
  const names = Object.keys(declared);
  if (names.length !== 1) throw new InvalidOptionError(`${flag} needs a job with one ${flag.includes('input') ? 'input' : 'output'} (this one has ${names.join(', ')}): use --topic name=${topic}`);
  return { [names[0]!]: topic };
}

/** Flags that name inputs or outputs the job does not have, or that do not apply to this run. */
function checkNames(job: Job, options: BindingOptions): void {
  const inputs = Object.keys(job.inputs);
  const outputs = Object.keys(job.outputs);
  const problems: string[] = [];
  for (const name of Object.keys(options.inputFiles)) if (!inputs.includes(name)) problems.push(`--input ${name}: the job has no input "${name}" (inputs: ${inputs.join(', ')})`);
  for (const name of Object.keys(options.outputFiles)) if (!outputs.includes(name)) problems.push(`--output ${name}: the job has no output "${name}" (outputs: ${outputs.join(', ')})`);
  for (const name of Object.keys(options.topics)) {
    if (!inputs.includes(name) && !outputs.includes(name)) problems.push(`--topic ${name}: the job has no input or output "${name}" (${[...inputs, ...outputs].join(', ')})`);
  }
  if (options.kafka !== undefined) {
    for (const flag of ['input', 'output'] as const) {
      const given = Object.keys(flag === 'input' ? options.inputFiles : options.outputFiles);
      if (given.length > 0) problems.push(`--${flag} ${given[0]}=... reads or writes a file, which does not apply with --brokers: use --topic ${given[0]}=<topic> to rename the topic`);
    }
  } else {
    if (Object.keys(options.topics).length > 0) problems.push('--topic applies only with --brokers (Kafka); without it use --input/--output files');
    if (options.deadLetterTopic !== undefined) problems.push('--dead-letter-topic applies only with --brokers (Kafka)');
  }
  if (problems.length > 0) throw new InvalidOptionError(problems.join('; '));
}
