import { kafkaTuning } from '../connectors/kafka/config.ts';
import { PartitionTransactions } from '../connectors/kafka/transactions/partitionTransactions.ts';
import type { KafkaSettings } from '../core/job.ts';

/** The transactions of an exactly-once run, and the failure that ended it, if one did. */
export interface ExactlyOnceRun {
  readonly transactions: PartitionTransactions;
  /** The first commit that failed (the run must stop and exit 1), or undefined. */
  readonly failure: unknown;
  /** Records a failed commit and tells the listener (which stops the job). */
  fail(error: unknown): void;
  onFailure(listener: () => void): void;
}

/**
 * What `--guarantee exactly-once` adds to a run: one set of per-partition transactional
 * producers shared by the outputs, the dead letters and the changelog, and a failure hook, since
 * a transaction that cannot commit has lost its outputs and the job must restart from the last
 * commit. Undefined for at-least-once runs.
 *
 * @example
 * const eos = exactlyOnceRun(options.guarantee, options.kafka);
 * const binding = bindIO(job, { ...options, settings, transactions: eos?.transactions });
 */
export function exactlyOnceRun(guarantee: 'at-least-once' | 'exactly-once' | undefined, kafka: KafkaSettings | undefined): ExactlyOnceRun | undefined {
  if (guarantee !== 'exactly-once' || kafka === undefined) return undefined;
  const transactions = new PartitionTransactions({ settings: kafka, tuning: kafkaTuning(process.env) });
  let failure: unknown;
  const listeners: (() => void)[] = [];
  return {
    transactions,
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
