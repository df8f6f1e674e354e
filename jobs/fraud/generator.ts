import { setting, type SettingValues } from 'sluice';
import { TransactionGenerator } from './transactions.ts';

/** The settings of the fraud job's generated input (used when no Kafka topic or file is given). */
export const generatorSettings = {
  count: setting.integer(500_000, 'transactions the generator makes', { min: 0 }),
  rate: setting.number(0, 'generated transactions per second (0: as fast as the job takes them)', { min: 0 }),
  users: setting.integer(5000, 'card holders in the generated stream', { min: 1 }),
  fraudRatio: setting.number(0.015, 'share of generated transactions that are fraud', { min: 0, max: 0.5 }),
  seed: setting.integer(42, 'seed of the generated stream'),
};

/**
 * The generated `transactions` input: `count` synthetic card transactions of `users` card holders,
 * a `fraudRatio` of them fraud, reproducible by `seed`, paced at `rate` per second when set.
 *
 * @example
 * defineJob({ settings: { ...generatorSettings }, generate: generateTransactions, ... })
 */
export function generateTransactions(settings: SettingValues<typeof generatorSettings>) {
  const generator = new TransactionGenerator({ seed: settings.seed, users: settings.users, fraudRatio: settings.fraudRatio });
  return { transactions: { count: settings.count, make: () => generator.next(), ratePerSecond: settings.rate > 0 ? settings.rate : undefined } };
}
