import { Command, InvalidArgumentError, Option } from 'commander';
import { produceCommand, type ProduceOptions } from './produceCommand.ts';
import { runCommand, type RunOptions } from './runCommand.ts';

/**
 * The `sluice` command line. Commander parses and validates arguments, so every option has
 * `--help` text, an environment variable where that is the standard, and an exact error.
 *
 * @example
 * await main(['run', 'jobs/fraud-detection.ts', '--workers', '2']);
 */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('sluice')
    .description('Stream processing for real-time ML inference: Kafka in, ONNX on a worker pool, Kafka out.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('run')
    .description('run a job file (TypeScript, loaded directly) until its source ends or SIGTERM/SIGINT')
    .argument('<job>', 'job file, e.g. jobs/fraud-detection.ts')
    .addOption(new Option('-w, --workers <n>', 'inference worker threads').default(2).env('SLUICE_WORKERS').argParser(positiveInteger))
    .addOption(new Option('--max-in-flight <n>', 'records inside the job at once; the source pauses when full').default(20_000).env('SLUICE_MAX_IN_FLIGHT').argParser(positiveInteger))
    .addOption(new Option('-b, --brokers <list>', 'Kafka bootstrap brokers (host:port,...); without it the job uses its embedded source and sink').env('KAFKA_BROKERS'))
    .addOption(new Option('-g, --group <id>', 'Kafka consumer group (default: the job name)').env('SLUICE_GROUP_ID'))
    .addOption(new Option('--start <position>', 'where a new consumer group starts').choices(['earliest', 'latest']).default('earliest').env('SLUICE_START'))
    .addOption(new Option('--input-topic <name>', 'Kafka topic to read').env('SLUICE_INPUT_TOPIC'))
    .addOption(new Option('--output-topic <name>', 'Kafka topic to write').env('SLUICE_OUTPUT_TOPIC'))
    .addOption(new Option('--dead-letter-topic <name>', 'Kafka topic for records that cannot be processed').env('SLUICE_DEAD_LETTER_TOPIC'))
    .addOption(new Option('-s, --set <name=value>', 'a job setting (repeatable), e.g. --set count=100000').argParser(collectSetting).default({}))
    .addOption(new Option('--checkpoint-dir <dir>', 'checkpoint keyed and window state with the source positions here, and restore from it on start').env('SLUICE_CHECKPOINT_DIR'))
    .addOption(new Option('--checkpoint-interval <ms>', 'milliseconds between checkpoints').default(5000).env('SLUICE_CHECKPOINT_INTERVAL').argParser(positiveInteger))
    .addOption(new Option('--changelog-topic <name>', 'on Kafka: the topic that keeps each partition\'s state (default: <group>-changelog)').env('SLUICE_CHANGELOG_TOPIC'))
    .option('--no-checkpoints', 'on Kafka: no state changelog; offsets are committed as soon as records are done')
    .addOption(new Option('--trace-sample <ratio>', 'share of records traced with OpenTelemetry, 0 to 1 (0 turns tracing off); overrides OTEL_TRACES_SAMPLER. Spans go to OTEL_EXPORTER_OTLP_ENDPOINT').env('SLUICE_TRACE_SAMPLE').argParser(sampleRatio))
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics at http://localhost:<port>/metrics while the job runs').env('SLUICE_METRICS_PORT').argParser(portNumber))
    .option('--no-progress', 'no live progress line')
    .action(async (job: string, flags: RunFlags) => {
      exitCode = await runCommand(toRunOptions(job, flags));
    });

  program
    .command('produce')
    .description('write synthetic card transactions (the fraud job\'s input) to a Kafka topic, keyed by user')
    .addOption(new Option('-b, --brokers <list>', 'Kafka bootstrap brokers (host:port,...)').env('KAFKA_BROKERS').makeOptionMandatory())
    .addOption(new Option('-t, --topic <name>', 'topic to write (created when missing)').default('transactions').env('SLUICE_INPUT_TOPIC'))
    .addOption(new Option('-n, --count <n>', 'transactions to write').default(100_000).argParser(positiveInteger))
    .addOption(new Option('--rate <n>', 'records per second (default: as fast as the brokers take them)').argParser(positiveInteger))
    .addOption(new Option('--batch-size <n>', 'records per produce request').default(10_000).argParser(positiveInteger))
    .addOption(new Option('--garbage-ratio <r>', 'share of extra records that are not valid transactions, to see dead-lettering').default(0).argParser(ratio))
    .addOption(new Option('--seed <n>', 'random seed of the generated stream').default(42).argParser(positiveInteger))
    .addOption(new Option('--users <n>', 'card holders in the generated stream').default(5000).argParser(positiveInteger))
    .addOption(new Option('--fraud-ratio <r>', 'share of fraudulent transactions').default(0.015).argParser(ratio))
    .addOption(new Option('--partitions <n>', 'partitions of the topic if it has to be created').default(4).argParser(positiveInteger))
    .addOption(new Option('--compression <type>', 'produce compression').choices(['none', 'gzip']).default('none'))
    .action(async (flags: ProduceFlags) => {
      exitCode = await produceCommand({ ...flags, brokers: splitBrokers(flags.brokers) });
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    // Commander already printed the message (or the help); only the exit code is left to give.
    const code = (error as { exitCode?: unknown }).exitCode;
    return typeof code === 'number' ? code : 1;
  }
  return exitCode;
}

interface RunFlags {
  workers: number;
  maxInFlight: number;
  brokers?: string;
  group?: string;
  start: 'earliest' | 'latest';
  inputTopic?: string;
  outputTopic?: string;
  deadLetterTopic?: string;
  set: Record<string, string>;
  checkpointDir?: string;
  checkpointInterval: number;
  changelogTopic?: string;
  checkpoints: boolean;
  traceSample?: number;
  metricsPort?: number;
  progress: boolean;
}

/** What commander parses for `produce`: the command's options, with the brokers as one list. */
type ProduceFlags = Omit<ProduceOptions, 'brokers'> & { brokers: string };

function splitBrokers(list: string): string[] {
  return list.split(',').map((b) => b.trim()).filter((b) => b !== '');
}

function toRunOptions(jobPath: string, flags: RunFlags): RunOptions {
  const brokers = flags.brokers === undefined ? undefined : splitBrokers(flags.brokers);
  const jobName = jobPath.replace(/^.*\//, '').replace(/\.[cm]?[tj]s$/, '');
  return {
    jobPath,
    workers: flags.workers,
    maxInFlight: flags.maxInFlight,
    kafka:
      brokers === undefined || brokers.length === 0
        ? undefined
        : { brokers, groupId: flags.group ?? `sluice-${jobName}`, clientId: `sluice-${jobName}`, start: flags.start },
    topics: {
      ...(flags.inputTopic === undefined ? {} : { input: flags.inputTopic }),
      ...(flags.outputTopic === undefined ? {} : { output: flags.outputTopic }),
      ...(flags.deadLetterTopic === undefined ? {} : { deadLetter: flags.deadLetterTopic }),
    },
    settings: flags.set,
    checkpoints: checkpointChoice(flags, brokers !== undefined && brokers.length > 0, `sluice-${jobName}`),
    traceSample: flags.traceSample,
    metricsPort: flags.metricsPort,
    progress: flags.progress ? 'auto' : 'off',
  };
}

/** A checkpoint directory wins; on Kafka a changelog topic is the default; embedded runs have none. */
function checkpointChoice(flags: RunFlags, onKafka: boolean, defaultGroup: string): RunOptions['checkpoints'] {
  if (flags.checkpointDir !== undefined) return { kind: 'directory', directory: flags.checkpointDir, intervalMs: flags.checkpointInterval };
  if (onKafka && flags.checkpoints) return { kind: 'changelog', topic: flags.changelogTopic ?? `${flags.group ?? defaultGroup}-changelog`, intervalMs: flags.checkpointInterval };
  return undefined;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer.');
  return parsed;
}

function ratio(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed >= 1) throw new InvalidArgumentError('must be a number from 0 up to (not including) 1.');
  return parsed;
}

function sampleRatio(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0 || parsed > 1) throw new InvalidArgumentError('must be a number from 0 to 1, e.g. 0.01 to trace 1 % of records.');
  return parsed;
}

function portNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535 (0 picks a free one).');
  return parsed;
}

function collectSetting(value: string, previous: Record<string, string>): Record<string, string> {
  const split = value.indexOf('=');
  if (split <= 0) throw new InvalidArgumentError('must look like name=value.');
  return { ...previous, [value.slice(0, split)]: value.slice(split + 1) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
