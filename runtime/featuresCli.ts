import { Command, Option } from 'commander';
import { onlineStore } from '../connectors/redis/onlineStore.ts';
import { redisUrl } from '../connectors/redis/client.ts';
import { featuresBackfillJob, featuresCheckJob, featuresTrainingSetJob } from '../core/features/index.ts';
import { collectPair, nonNegativeNumber, positiveInteger } from './cliParsers.ts';
import { loadJob } from './loadJob.ts';
import { oneLine } from './runCommand.ts';

interface JobFlags {
  job: string;
  set: Record<string, string>;
  view?: string;
  events?: string;
  input?: string;
}

/**
 * `sluice features backfill | training-set | check`: the offline side of a job's feature view
 * (docs/feature-store.md). Each loads the job file, whose modules declare the view.
 *
 * @example
 * program.addCommand(featuresCommand((code) => (exitCode = code)));
 */
export function featuresCommand(setExitCode: (code: number) => void): Command {
  const features = new Command('features').description("the feature store: backfill a job's features offline, build point-in-time training sets, check online against offline");
  const common = (command: Command) =>
    command
      .addOption(new Option('-j, --job <file>', 'the job whose feature view to use').makeOptionMandatory())
      .addOption(new Option('-s, --set <name=value>', "the job's settings, as for sluice run (its generator makes the same events)").argParser(collectPair('--set')).default({}))
      .addOption(new Option('--view <name>', 'the feature view, when the job has several'))
      .addOption(new Option('--events <file>', "the input's history as JSONL (default: the job's generator)"))
      .addOption(new Option('--input <name>', 'which input the events are, when the job has several'));
  const run = async (work: () => Promise<number>) => {
    try {
      setExitCode(await work());
    } catch (error) {
      process.stderr.write(`sluice: ${oneLine(error)}\n`);
      setExitCode(1);
    }
  };
  const io = { log: (line: string) => process.stderr.write(`${line}\n`) };

  common(features.command('backfill').description('compute the feature rows of a history with the same definition the job runs, into the offline store (and Redis with --redis)'))
    .addOption(new Option('--dir <dir>', 'the offline store (Parquet files)').default('data/features'))
    .addOption(new Option('--redis <url>', 'also write each entity\'s latest row to this online store').env('REDIS_URL'))
    .action((flags: JobFlags & { dir: string; redis?: string }) =>
      run(async () => {
        const job = await loadJob(flags.job);
        const url = redisUrl(flags.redis);
        const online = url === undefined ? undefined : await onlineStore({ url });
        try {
          const result = await featuresBackfillJob({ ...io, ...jobOptions(flags), job, dir: flags.dir, ...(online === undefined ? {} : { online }) });
          process.stderr.write(`backfilled ${result.rows.toLocaleString('en-US')} rows of ${result.entities.toLocaleString('en-US')} entities into ${flags.dir}\n`);
          return 0;
        } finally {
          await online?.close();
        }
      }),
    );

  common(features.command('training-set').description('join labels with the feature values as of each label\'s event time (never later): a point-in-time correct training table'))
    .addOption(new Option('--dir <dir>', 'the offline store (Parquet files)').default('data/features'))
    .addOption(new Option('--labels <file>', 'labels as JSONL: {entity, eventTime, label}').makeOptionMandatory())
    .addOption(new Option('-o, --out <file>', 'the training table (CSV)'))
    .action((flags: JobFlags & { dir: string; labels: string; out?: string }) =>
      run(async () => {
        const job = await loadJob(flags.job);
        const rows = await featuresTrainingSetJob({ ...io, ...jobOptions(flags), job, dir: flags.dir, labels: flags.labels, ...(flags.out === undefined ? {} : { out: flags.out }) });
        process.stderr.write(`training set: ${rows.toLocaleString('en-US')} rows\n`);
        return 0;
      }),
    );

  common(features.command('check').description('compare the feature rows the job served online (its served-rows log) with an offline recomputation, per feature; exit 1 above the thresholds'))
    .addOption(new Option('--sample <n>', 'rows of the served log to check').argParser(positiveInteger))
    .addOption(new Option('--served <file>', "the served-rows log (default: the job's, under .sluice/)"))
    .addOption(new Option('--max-mismatch-rate <r>', 'largest mismatch rate per feature that passes').default(0).argParser(nonNegativeNumber))
    .addOption(new Option('--max-missing-rate <r>', 'largest missing rate per feature that passes').default(0).argParser(nonNegativeNumber))
    .action((flags: JobFlags & { sample?: number; served?: string; maxMismatchRate: number; maxMissingRate: number }) =>
      run(async () => {
        const job = await loadJob(flags.job);
        return featuresCheckJob({
          ...io,
          ...jobOptions(flags),
          job,
          maxMismatchRate: flags.maxMismatchRate,
          maxMissingRate: flags.maxMissingRate,
          ...(flags.sample === undefined ? {} : { sample: flags.sample }),
          ...(flags.served === undefined ? {} : { served: flags.served }),
        });
      }),
    );
  return features;
}

function jobOptions(flags: JobFlags): { settings: Record<string, string>; view?: string; events?: string; input?: string } {
  return {
    settings: flags.set,
    ...(flags.view === undefined ? {} : { view: flags.view }),
    ...(flags.events === undefined ? {} : { events: flags.events }),
    ...(flags.input === undefined ? {} : { input: flags.input }),
  };
}
