import { CommittedFiles } from '../connectors/committedFiles.ts';
import { kafkaTuning } from '../connectors/kafka/config.ts';
import { PartitionTransactions } from '../connectors/kafka/transactions/partitionTransactions.ts';
import type { KafkaSettings } from '../core/job.ts';

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
 * commit. Undefined for at-least-once runs.
 *
 * @example
 * const eos = exactlyOnceRun(options.guarantee, options.kafka);
 * const binding = bindIO(job, { ...options, settings, transactions: eos?.transactions, committedFiles: eos?.files });
 */
export function exactlyOnceRun(guarantee: 'at-least-once' | 'exactly-once' | undefined, kafka: KafkaSettings | undefined): ExactlyOnceRun | undefined {
  if (guarantee !== 'exactly-once') return undefined;
  const transactions = kafka === undefined ? undefined : new PartitionTransactions({ settings: kafka, tuning: kafkaTuning(process.env) });
  const files = kafka === undefined ? new CommittedFiles() : undefined;
  let failure: unknown;
  const listeners: (() => void)[] = [];
  return {
    transactions,
    files,
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
