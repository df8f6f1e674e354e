/**
 * Per-merchant statistics per 1-minute event-time window: transaction count, fraud-flag rate and
 * amount percentiles (p50/p95), over an out-of-order stream. Late transactions within the
 * allowed lateness update their window (a new line with a higher `firing`); later ones go to a
 * side output.
 *
 *   sluice run jobs/merchant-windows.ts                                   # out/merchant-windows.jsonl
 *   sluice run jobs/merchant-windows.ts --set count=2000000 --set allowedLatenessMs=60000
 *   sluice run jobs/merchant-windows.ts --input transactions=tx.jsonl      # keyed by merchant
 *
 * Output `windows`: one line per window firing (upsert by merchant + window, the highest
 * `firing` wins); output `late`: the transactions too late for any window.
 */
import { defineJob, input, output, setting } from 'sluice';
import { keyBy, map, split, TumblingEventTimeWindows, windowAggregate, isWindowResult } from 'sluice/operators';
import { parseTransaction, TransactionGenerator, type Transaction } from './fraud/transactions.ts';
import { merchantStats } from './merchants/merchantStats.ts';
import { OutOfOrder } from './merchants/outOfOrder.ts';
import { describeLate, describeWindow, type LateLine, type WindowLine } from './merchants/windowLines.ts';

export default defineJob({
  name: 'merchant-windows',
  description: 'per-merchant transaction statistics per event-time window, with late data',
  settings: {
    windowMs: setting.integer(60_000, 'window length (ms of event time)', { min: 1 }),
    maxOutOfOrdernessMs: setting.integer(5_000, 'how far behind the newest event time a record may arrive and still be on time', { min: 0 }),
    idleTimeoutMs: setting.integer(10_000, 'a partition without records for this long stops holding the watermark back', { min: 1 }),
    allowedLatenessMs: setting.integer(30_000, 'how long after a window closed late records still update it', { min: 0 }),
    count: setting.integer(300_000, 'transactions the generator makes', { min: 0 }),
    rate: setting.number(0, 'generated transactions per second (0: as fast as the job takes them)', { min: 0 }),
    users: setting.integer(5000, 'card holders in the generated stream', { min: 1 }),
    fraudRatio: setting.number(0.015, 'share of generated transactions that are fraud', { min: 0, max: 0.5 }),
    seed: setting.integer(42, 'seed of the generated stream'),
    meanGapMs: setting.number(2, 'mean event-time gap between generated transactions', { min: 0.001 }),
    stragglerRatio: setting.number(0.003, 'share of generated transactions that arrive 5–90 s late', { min: 0, max: 1 }),
  },
  // Keyed (and, on Kafka, partitioned) by merchant, so a merchant's windows live in one partition.
  inputs: { transactions: input('transactions', { parse: parseTransaction }, { key: (tx) => tx.merchantId, time: (tx) => tx.timestamp }) },
  outputs: { windows: output<WindowLine>('merchant-windows'), late: output<LateLine>('merchant-windows-late') },
  generate: (settings) => ({
    transactions: { count: settings.count, make: syntheticTransactions(settings), ratePerSecond: settings.rate > 0 ? settings.rate : undefined },
  }),
  pipeline: ({ transactions }, { settings }) => {
    const windowed = transactions.pipe(
      keyBy((tx) => tx.merchantId),
      windowAggregate({
        assigner: new TumblingEventTimeWindows(settings.windowMs),
        aggregate: merchantStats(),
        maxOutOfOrdernessMs: settings.maxOutOfOrdernessMs,
        idleTimeoutMs: settings.idleTimeoutMs,
        allowedLatenessMs: settings.allowedLatenessMs,
      }),
    );
    const [results, late] = split(windowed, isWindowResult);
    return { windows: results.pipe(map(describeWindow)), late: late.pipe(map(describeLate)) };
  },
  countAs: { label: 'windows', test: (line) => 'windowStart' in line },
});

/**
 * The embedded stream: the fraud job's synthetic transactions, shuffled out of event-time order —
 * about 2 s of disorder from a shuffling buffer, and `stragglerRatio` of them 5–90 s late. The
 * same settings give the same sequence.
 */
export function syntheticTransactions(settings: { seed: number; users: number; fraudRatio: number; meanGapMs: number; stragglerRatio: number }): () => Transaction {
  const { meanGapMs, seed } = settings;
  const generator = new TransactionGenerator({ seed, users: settings.users, fraudRatio: settings.fraudRatio, meanGapMs });
  const shuffled = new OutOfOrder(() => generator.next(), {
    seed: seed + 1,
    buffer: Math.max(1, Math.round(2_000 / meanGapMs)),
    stragglerRatio: settings.stragglerRatio,
    stragglerDelay: [Math.round(5_000 / meanGapMs), Math.round(90_000 / meanGapMs)],
  });
  return () => shuffled.next();
}
