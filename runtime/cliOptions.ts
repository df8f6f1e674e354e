import { Option } from 'commander';
import { availableParallelism } from 'node:os';
import { kafkaTuning } from '../connectors/kafka/config.ts';
import { kafkaSecurity } from '../connectors/kafka/security.ts';
import { InvalidOptionError } from '../core/errors.ts';
import { EXACTLY_ONCE_NEEDS_A_COMMIT } from './exactlyOnce.ts';
import { kafkaSecurityOptions, securityFlags } from './kafkaSecurityFlags.ts';
import { collectPair, httpUrl, portNumber, positiveInteger, sampleRatio, splitBrokers } from './cliParsers.ts';
import type { RunOptions } from './runCommand.ts';
import { DEFAULT_UI_PORT } from './ui/runDashboard.ts';

/** What commander parses for `run`. */
export interface RunFlags {
  workers: number;
  /** Undefined when not given: the core count, or 1 where a flag needs one thread (see toRunOptions). */
  parallelism?: number;
  maxInFlight: number;
  brokers?: string;
  group?: string;
  start: 'earliest' | 'latest';
  input: Record<string, string>;
  output: Record<string, string>;
  topic: Record<string, string>;
  inputTopic?: string;
  outputTopic?: string;
  deadLetterTopic?: string;
  append: boolean;
  set: Record<string, string>;
  checkpointDir?: string;
  checkpointInterval: number;
  checkpointTimeout: number;
  changelogTopic?: string;
  checkpoints: boolean;
  guarantee: 'at-least-once' | 'exactly-once';
  kafkaTls?: boolean;
  kafkaCa?: string;
  kafkaCert?: string;
  kafkaKey?: string;
  kafkaSasl?: string;
  kafkaUser?: string;
  kafkaPasswordFile?: string;
  drain: boolean;
  maxRecords?: number;
  untilCaughtUp: boolean;
  traceSample?: number;
  traceKeys: boolean;
  metricsPort?: number;
  metricsHost?: string;
  progress: boolean;
  typecheck: boolean;
  /** `--ui` alone is true; `--ui 9000` is the port. */
  ui?: number | true;
  uiHost: string;
  uiRedact?: boolean;
  jaegerUrl?: string;
}

/** The options of `sluice run`, in the order `--help` and docs/cli.md list them. */
export function runOptions(): Option[] {
  return [
    new Option('-s, --set <name=value>', "a job setting (repeatable); `sluice run <job> --help` lists the job's settings").argParser(collectPair('--set')).default({}),
    new Option('-i, --input <name=file>', 'read an input from a JSONL file instead of its generator (repeatable; without --brokers)').argParser(collectPair('--input')).default({}),
    new Option('-o, --output <name=file>', 'write an output to a JSONL file, `-` for stdout or `none` (repeatable; default out/<topic>.jsonl; without --brokers)').argParser(collectPair('--output')).default({}),
    new Option('--append', 'append to output and dead-letter files instead of starting them afresh').default(false),
    new Option('-w, --workers <n>', 'inference worker threads (started only when the job has a model)').default(2).env('SLUICE_WORKERS').argParser(positiveInteger),
    new Option('--parallelism <n>', 'stream threads: copies of the pipeline in worker threads of this process, each with its own share of the partitions (or keys), Kafka consumer, producer and state; 1 runs the pipeline on the main thread').default(undefined, 'the core count').env('SLUICE_PARALLELISM').argParser(positiveInteger),
    new Option('--max-in-flight <n>', 'records inside the job at once; the source pauses when full').default(20_000).env('SLUICE_MAX_IN_FLIGHT').argParser(positiveInteger),
    new Option('-b, --brokers <list>', 'Kafka bootstrap brokers (host:port,...): inputs and outputs become Kafka topics').env('KAFKA_BROKERS'),
    ...kafkaSecurityOptions(),
    new Option('-g, --group <id>', 'Kafka consumer group (default: sluice-<job file name>)').env('SLUICE_GROUP_ID'),
    new Option('--start <position>', 'where a new consumer group starts').choices(['earliest', 'latest']).default('earliest').env('SLUICE_START'),
    new Option('-t, --topic <name=topic>', 'read or write a logical input or output on another Kafka topic (repeatable)').argParser(collectPair('--topic')).default({}),
    new Option('--input-topic <topic>', 'the Kafka topic of the job\'s only input (shorthand for --topic)').env('SLUICE_INPUT_TOPIC'),
    new Option('--output-topic <topic>', 'the Kafka topic of the job\'s only output (shorthand for --topic)').env('SLUICE_OUTPUT_TOPIC'),
    new Option('--dead-letter-topic <topic>', 'Kafka topic for records that cannot be processed (default: the job\'s, <name>-dead-letters)').env('SLUICE_DEAD_LETTER_TOPIC'),
    new Option('--checkpoint-dir <dir>', 'checkpoint keyed and window state with the source positions here, and restore from it on start').env('SLUICE_CHECKPOINT_DIR'),
    new Option('--checkpoint-interval <ms>', 'milliseconds between checkpoints').default(5000).env('SLUICE_CHECKPOINT_INTERVAL').argParser(positiveInteger),
    new Option('--checkpoint-timeout <ms>', 'longest a checkpoint waits for the records in flight; past it the job fails, to restart from the last checkpoint').default(600_000).env('SLUICE_CHECKPOINT_TIMEOUT').argParser(positiveInteger),
    new Option('--changelog-topic <topic>', 'with --brokers: the topic that keeps each partition\'s state (default: <group>-changelog)').env('SLUICE_CHANGELOG_TOPIC'),
    new Option('--no-checkpoints', 'with --brokers: no state changelog; offsets are committed as soon as records are done'),
    new Option('--guarantee <mode>', 'exactly-once: with --brokers, outputs, dead letters, state and offsets of each checkpoint go in one Kafka transaction (readers need isolation.level=read_committed); with --checkpoint-dir, output files show only what a checkpoint committed').choices(['at-least-once', 'exactly-once']).default('at-least-once').env('SLUICE_GUARANTEE'),
    new Option('--drain', 'on SIGTERM/SIGINT fire every open window before stopping (the restart starts them afresh); default: keep them in the checkpoint'),
    new Option('--max-records <n>', 'end the run after n input records (taken in or dead-lettered): it drains, commits and prints the summary as on SIGTERM').argParser(positiveInteger),
    new Option('--until-caught-up', 'with --brokers: end the run once every partition is read up to where it ended when the run started (a backfill, a benchmark)').default(false),
    new Option('--trace-sample <ratio>', 'share of records traced with OpenTelemetry, 0 to 1; overrides OTEL_TRACES_SAMPLER. Spans go to OTEL_EXPORTER_OTLP_ENDPOINT').env('SLUICE_TRACE_SAMPLE').argParser(sampleRatio),
    new Option('--no-trace-keys', 'spans do not carry record keys (when keys are personal data)'),
    new Option('--metrics-port <port>', 'serve Prometheus metrics at http://<metrics-host>:<port>/metrics while the job runs').env('SLUICE_METRICS_PORT').argParser(portNumber),
    new Option('--metrics-host <address>', 'address the metrics server listens on; 0.0.0.0 for every interface').default('127.0.0.1').env('SLUICE_METRICS_HOST'),
    new Option('--ui [port]', `serve a live dashboard of the job at http://<ui-host>:<port>/ (default port ${DEFAULT_UI_PORT}; 0 picks a free one)`).argParser(portNumber),
    new Option('--ui-host <address>', 'address the dashboard listens on; 0.0.0.0 for every interface').default('127.0.0.1').env('SLUICE_UI_HOST'),
    new Option('--ui-redact', 'the dashboard shows dead letters without their key, original bytes or value (reason, stage and position only)'),
    new Option('--jaeger-url <url>', 'Jaeger UI address: the dashboard links slow traced records to <url>/trace/<trace id>').env('SLUICE_JAEGER_URL').argParser(httpUrl),
    new Option('--no-progress', 'no live progress line'),
    new Option('--no-typecheck', 'start without type-checking the job file'),
    new Option('--profile <dir>', 'write a V8 CPU profile of the job process (not the launcher) to this folder, for Chrome DevTools or speedscope'),
    new Option('--inspect [host:port]', 'open the Node inspector on the job process (not the launcher), default 127.0.0.1:9229'),
  ];
}

/** Turns parsed flags into what `runCommand` takes, refusing flags that do not apply to this run. */
export function toRunOptions(jobPath: string, flags: RunFlags): RunOptions {
  const brokers = flags.brokers === undefined ? [] : splitBrokers(flags.brokers);
  const onKafka = brokers.length > 0;
  const jobName = jobPath.replace(/^.*\//, '').replace(/\.[cm]?[tj]s$/, '');
  const group = flags.group ?? `sluice-${jobName}`;
  // Not given: one stream thread per core.
  const parallelism = flags.parallelism ?? availableParallelism();
  const kafkaOnly = (
    [
      ['--changelog-topic', flags.changelogTopic],
      ['--group', flags.group],
      ['--input-topic', flags.inputTopic],
      ['--output-topic', flags.outputTopic],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (!onKafka && kafkaOnly.length > 0) throw new InvalidOptionError(`${kafkaOnly.map(([flag]) => flag).join(', ')} applies only with --brokers (Kafka)`);
  if (!onKafka && !flags.checkpoints) throw new InvalidOptionError('--no-checkpoints applies only with --brokers (Kafka); embedded runs checkpoint only with --checkpoint-dir');
  if (flags.ui === undefined && (flags.uiRedact === true || flags.jaegerUrl !== undefined)) throw new InvalidOptionError(`${flags.uiRedact === true ? '--ui-redact' : '--jaeger-url'} applies only with --ui (the dashboard)`);
  if (!onKafka && flags.untilCaughtUp) throw new InvalidOptionError('--until-caught-up applies only with --brokers (Kafka): an embedded input ends at its own end');
  if (flags.checkpointDir !== undefined && flags.changelogTopic !== undefined) throw new InvalidOptionError('--checkpoint-dir and --changelog-topic are two places for the same checkpoints: choose one');
  if (flags.guarantee === 'exactly-once') {
    if (!onKafka && flags.checkpointDir === undefined) throw new InvalidOptionError(EXACTLY_ONCE_NEEDS_A_COMMIT);
    if (onKafka && (!flags.checkpoints || flags.checkpointDir !== undefined)) throw new InvalidOptionError('--guarantee exactly-once keeps state in the changelog topic, inside the transactions: drop --no-checkpoints / --checkpoint-dir');
    // A transaction stays open from the first send after one checkpoint to the next one's commit.
    const transactionTimeoutMs = onKafka ? kafkaTuning(process.env).transactionTimeoutMs : Infinity;
    if (flags.checkpointInterval * 2 > transactionTimeoutMs) {
      throw new InvalidOptionError(
        `--checkpoint-interval ${flags.checkpointInterval} ms is over half the Kafka transaction timeout (${transactionTimeoutMs} ms): the broker would abort transactions before their checkpoint commits them; lower the interval or raise SLUICE_KAFKA_TRANSACTION_TIMEOUT_MS`,
      );
    }
  }
  return {
    jobPath,
    workers: flags.workers,
    parallelism,
    maxInFlight: flags.maxInFlight,
    kafka: onKafka ? { brokers, groupId: group, clientId: `sluice-${jobName}`, start: flags.start, security: kafkaSecurity(securityFlags(flags)) } : undefined,
    topics: flags.topic,
    inputTopic: flags.inputTopic,
    outputTopic: flags.outputTopic,
    inputFiles: flags.input,
    outputFiles: flags.output,
    outputMode: flags.append ? 'append' : 'overwrite',
    deadLetterTopic: flags.deadLetterTopic,
    settings: flags.set,
    checkpoints:
      flags.checkpointDir !== undefined
        ? { kind: 'directory', directory: flags.checkpointDir, intervalMs: flags.checkpointInterval, timeoutMs: flags.checkpointTimeout }
        : onKafka && flags.checkpoints
          ? { kind: 'changelog', topic: flags.changelogTopic ?? `${group}-changelog`, intervalMs: flags.checkpointInterval, timeoutMs: flags.checkpointTimeout }
          : undefined,
    guarantee: flags.guarantee,
    drain: flags.drain,
    maxRecords: flags.maxRecords,
    untilCaughtUp: flags.untilCaughtUp,
    traceSample: flags.traceSample,
    traceKeys: flags.traceKeys,
    metricsPort: flags.metricsPort,
    metricsHost: flags.metricsHost,
    progress: flags.progress ? 'auto' : 'off',
    typecheck: flags.typecheck,
    ui: flags.ui === undefined ? undefined : { port: flags.ui === true ? DEFAULT_UI_PORT : flags.ui, host: flags.uiHost, redact: flags.uiRedact === true, jaegerUrl: flags.jaegerUrl },
  };
}
