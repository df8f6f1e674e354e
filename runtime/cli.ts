import './onnxTelemetry.ts';
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { describeSettings } from '../core/settings.ts';
import { checkCommand } from './checkCommand.ts';
import { runOptions, toRunOptions, type RunFlags } from './cliOptions.ts';
import { collectPair, nonNegativeNumber, portNumber, positiveInteger, ratio, splitBrokers } from './cliParsers.ts';
import { featuresCommand } from './featuresCli.ts';
import { initCommand } from './initCommand.ts';
import { modelUseCommand } from './modelCommand.ts';
import { loadJob } from './loadJob.ts';
import { produceCommand, type ProduceOptions } from './produceCommand.ts';
import { oneLine, runCommand } from './runCommand.ts';
import { serveCommand } from './serve/serveCommand.ts';

/**
 * The `sluice` command line. Commander parses and validates arguments, so every option has
 * `--help` text, an environment variable where that is the standard, and an exact error.
 *
 * @example
 * await main(['run', 'jobs/fraud-detection.ts', '--workers', '2']);
 */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram((code) => (exitCode = code));
  await addJobHelp(program, argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    // Commander already printed the message (or the help); only the exit code is left to give.
    const code = (error as { exitCode?: unknown }).exitCode;
    if (typeof code === 'number') return code;
    process.stderr.write(`sluice: ${oneLine(error)}\n`);
    return 1;
  }
  return exitCode;
}

/** The whole command tree; docs/cli.md is generated from it (`npm run docs:cli`). */
export function buildProgram(setExitCode: (code: number) => void = () => {}): Command {
  const program = new Command('sluice')
    .description('Stream processing for real-time ML inference: Kafka in, ONNX on a worker pool, Kafka out.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const run = program
    .command('run')
    .description('run a job file (TypeScript, loaded directly) until its inputs end or SIGTERM/SIGINT')
    .argument('<job>', 'job file, e.g. jobs/fraud-detection.ts');
  for (const option of runOptions()) run.addOption(option);
  run.action(async (job: string, flags: RunFlags) => {
    setExitCode(await runCommand(toRunOptions(job, flags)));
  });

  program
    .command('check')
    .description('type-check a job file and build its graph without running it (a missing model or a wrong pipeline is caught here)')
    .argument('<job>', 'job file')
    .addOption(new Option('-s, --set <name=value>', 'a job setting to check with (repeatable)').argParser(collectPair('--set')).default({}))
    .action(async (job: string, flags: { set: Record<string, string> }) => {
      setExitCode(await checkCommand({ jobPath: job, settings: flags.set }));
    });

  program
    .command('init')
    .description('create a project of your own: package.json, tsconfig, an example job and its test')
    .argument('<directory>', 'where to create it (must not exist, or be empty)')
    .action(async (directory: string) => {
      setExitCode(await initCommand({ directory }));
    });

  program
    .command('produce')
    .description("write a job's sample records (its generator) to the Kafka topic of one of its inputs, keyed as the input says")
    .argument('[job]', 'job file whose generator makes the records', 'jobs/fraud-detection.ts')
    .addOption(new Option('-b, --brokers <list>', 'Kafka bootstrap brokers (host:port,...)').env('KAFKA_BROKERS').makeOptionMandatory())
    .addOption(new Option('--input <name>', "which of the job's inputs (default: its only one)"))
    .addOption(new Option('-t, --topic <name>', "topic to write (default: the input's; created when missing)").env('SLUICE_INPUT_TOPIC'))
    .addOption(new Option('-n, --count <n>', 'records to write').default(100_000).argParser(positiveInteger))
    .addOption(new Option('--rate <n>', 'records per second (default: as fast as the brokers take them)').argParser(positiveInteger))
    .addOption(new Option('--batch-size <n>', 'records per produce request').default(10_000).argParser(positiveInteger))
    .addOption(new Option('--garbage-ratio <r>', 'share of extra records that are not valid input, to see dead-lettering').default(0).argParser(ratio))
    .addOption(new Option('--seed <n>', 'seed of the garbage choices').default(42).argParser(positiveInteger))
    .addOption(new Option('-s, --set <name=value>', "a setting of the job's generator (repeatable), e.g. --set users=10000").argParser(collectPair('--set')).default({}))
    .addOption(new Option('--partitions <n>', 'partitions of the topic if it has to be created').default(4).argParser(positiveInteger))
    .addOption(new Option('--compression <type>', 'produce compression').choices(['none', 'gzip']).default('none'))
    .action(async (job: string, flags: ProduceFlags) => {
      const { set, brokers, ...rest } = flags;
      setExitCode(await produceCommand({ ...rest, jobPath: job, settings: set, input: flags.input, topic: flags.topic, brokers: splitBrokers(brokers) }));
    });

  program
    .command('serve')
    .description('serve a model over the Open Inference Protocol (KServe/Triton v2 REST), for jobs that use the enricher pattern')
    .argument('<model>', 'an .onnx file, a model registry directory (newest valid version) or dir@version')
    .addOption(new Option('-p, --port <port>', 'port to listen on (0 picks a free one)').default(8500).env('SLUICE_SERVE_PORT').argParser(portNumber))
    .addOption(new Option('--host <address>', 'address to listen on; 0.0.0.0 for every interface').default('127.0.0.1').env('SLUICE_SERVE_HOST'))
    .addOption(new Option('--name <name>', 'model name in the protocol (default: from the file or registry)'))
    .addOption(new Option('-w, --workers <n>', 'inference worker threads').default(2).env('SLUICE_WORKERS').argParser(positiveInteger))
    .addOption(new Option('--max-batch <n>', 'most rows scored in one model call (dynamic batching)').default(256).argParser(positiveInteger))
    .addOption(new Option('--max-delay-ms <ms>', 'how long a request waits for others to share its model call').default(2).argParser(nonNegativeNumber))
    .action(async (model: string, flags: { port: number; host: string; name?: string; workers: number; maxBatch: number; maxDelayMs: number }) => {
      setExitCode(await serveCommand({ model, ...flags }));
    });

  program.addCommand(featuresCommand(setExitCode));

  program
    .command('model')
    .description('the model registry: pin the version running jobs serve')
    .command('use')
    .description('pin a registry to a version (name@N), or follow the newest valid one again (name@latest); running jobs validate it and swap between batches')
    .argument('<name@version>', 'e.g. fraud@2, fraud@latest, or a path: models/fraud@1')
    .addOption(new Option('--registry <dir>', 'the directory holding the registries').default('models'))
    .action(async (target: string, flags: { registry: string }) => {
      try {
        await modelUseCommand(target, { registry: flags.registry });
        setExitCode(0);
      } catch (error) {
        process.stderr.write(`sluice: ${oneLine(error)}\n`);
        setExitCode(1);
      }
    });

  return program;
}

/** What commander parses for `produce`. */
type ProduceFlags = Omit<ProduceOptions, 'brokers' | 'jobPath' | 'settings' | 'input' | 'topic'> & { brokers: string; set: Record<string, string>; input?: string; topic?: string };

/** `sluice run job.ts --help` also lists the job's own settings, inputs and outputs. */
async function addJobHelp(program: Command, argv: readonly string[]): Promise<void> {
  const jobPath = argv[1];
  if (argv[0] !== 'run' || jobPath === undefined || !argv.some((a) => a === '--help' || a === '-h') || !existsSync(jobPath)) return;
  try {
    const job = await loadJob(jobPath);
    const run = program.commands.find((command) => command.name() === 'run');
    const lines = [
      '',
      `Job ${job.name}${job.description === undefined ? '' : `: ${job.description}`}`,
      `  inputs:  ${Object.entries(job.inputs).map(([name, spec]) => `${name} (topic ${spec.topic})`).join(', ')}`,
      `  outputs: ${Object.entries(job.outputs).map(([name, spec]) => `${name} (topic ${spec.topic})`).join(', ')}`,
      'Settings:',
      ...(Object.keys(job.settings).length === 0 ? ['  (none)'] : describeSettings(job.settings)),
    ];
    run?.addHelpText('after', lines.join('\n'));
  } catch (error) {
    process.stderr.write(`sluice: ${oneLine(error)}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
