import { CommittedFiles, type CommittedFilesOptions } from '../connectors/committedFiles.ts';
import { FilePublisher } from '../connectors/filePublisher.ts';
import { kafkaTuning } from '../connectors/kafka/config.ts';
import { PartitionTransactions } from '../connectors/kafka/transactions/partitionTransactions.ts';
import { InvalidOptionError } from '../core/errors.ts';
import type { KafkaSettings } from '../core/job.ts';
import type { RunOptions } from './runCommand.ts';

/** Exactly once without Kafka and without a checkpoint directory: nothing to commit outputs with. */
export const EXACTLY_ONCE_NEEDS_A_COMMIT = '--guarantee exactly-once commits at checkpoints: add --brokers (Kafka transactions) or --checkpoint-dir (output files published at each checkpoint)';

/** What an exactly-once run commits at checkpoints, and the failure that ended it, if one did. */
export interface ExactlyOnceRun {
  /** On Kafka: per-partition transactions shared by outputs, dead letters and the changelog. */
  readonly transactions: PartitionTransactions | undefined;
  /** Embedded: output files published at checkpoints. */
  readonly files: CommittedFiles | undefined;
  /** The first commit that failed (the run must stop and exit 1), or undefined. */
  readonly failure: unknown;
  /** Records a failed commit and tells the listener (which stops the job). */
  fail(error: unknown): void;
  onFailure(listener: () => void): void;
}

/**
 * What `--guarantee exactly-once` adds to a run: on Kafka one set of per-partition
 * transactional producers shared by the outputs, the dead letters and the changelog; embedded,
 * output files that show only what a checkpoint committed. And a failure hook, since a
 * transaction that cannot commit has lost its outputs and the job must restart from the last
 * commit. Undefined for at-least-once runs. Embedded, `files` says who publishes (see
 * localPublishing; stream threads publish through the main thread).
 *
 * @example
 * const eos = exactlyOnceRun(options.guarantee, options.kafka, localPublishing(options.checkpoints));
 * const binding = bindIO(job, { ...options, settings, transactions: eos?.transactions, committedFiles: eos?.files });
 */
export function exactlyOnceRun(guarantee: 'at-least-once' | 'exactly-once' | undefined, kafka: KafkaSettings | undefined, files?: CommittedFilesOptions): ExactlyOnceRun | undefined {
  if (guarantee !== 'exactly-once') return undefined;
  if (kafka === undefined && files === undefined) throw new InvalidOptionError(EXACTLY_ONCE_NEEDS_A_COMMIT);
  const transactions = kafka === undefined ? undefined : new PartitionTransactions({ settings: kafka, tuning: kafkaTuning(process.env) });
  const committed = kafka === undefined && files !== undefined ? new CommittedFiles(files) : undefined;
  let failure: unknown;
  const listeners: (() => void)[] = [];
  return {
    transactions,
    files: committed,
    get failure() {
      return failure;
    },
    fail(error) {
      if (failure !== undefined) return;
      failure = error;
      for (const listener of listeners) listener();
    },
    onFailure: (listener) => void listeners.push(listener),
  };
}

/**
 * Embedded exactly-once files published by this thread, their publish log next to the
 * checkpoints of `--checkpoint-dir`; undefined without one.
 *
 * @example
 * exactlyOnceRun('exactly-once', undefined, localPublishing({ kind: 'directory', directory: '.sluice/ckpt', intervalMs: 1000 }));
 */
export function localPublishing(checkpoints: RunOptions['checkpoints']): CommittedFilesOptions | undefined {
  return checkpoints?.kind === 'directory' ? { publisher: new FilePublisher({ directory: checkpoints.directory }) } : undefined;
}
