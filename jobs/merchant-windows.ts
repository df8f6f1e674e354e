/**
 * Per-merchant statistics per 1-minute event-time window: transaction count, fraud-flag rate and
 * amount percentiles (p50/p95), over an out-of-order stream. Late transactions within the
 * allowed lateness update their window (a new line with a higher `firing`); later ones go to a
 * side output file.
 *
 *   node bin/sluice.mjs run jobs/merchant-windows.ts
 *   sluice run jobs/merchant-windows.ts --set count=2000000 --set allowedLatenessMs=60000
 *   sluice run jobs/merchant-windows.ts --set input=transactions.jsonl   # keyed by merchant, event time from the record
 *
 * Output: out/merchant-windows.jsonl (one line per window firing; upsert by merchant + window,
 * the highest `firing` wins) and out/merchant-windows-late.jsonl (the side output).
 */
import { pipe, type OperatorFunction } from 'rxjs';
import { defineJob, numberSetting, type JobContext, type RunEnvironment, type Source } from '../core/index.ts';
import type { Envelope } from '../core/record.ts';
import { generatorSource, jsonDecoder, jsonlFileSource } from '../connectors/index.ts';
import { keyBy } from '../operators/index.ts';
import { TumblingEventTimeWindows } from '../operators/windows/tumblingWindows.ts';
import { windowAggregate } from '../operators/windows/windowAggregate.ts';
import { WindowOperator } from '../operators/windows/windowOperator.ts';
import type { LateRecord, WindowOutput, WindowResult } from '../operators/windows/windowOutput.ts';
import { parseTransaction, TransactionGenerator, type Transaction } from './fraud/transactions.ts';
import { merchantStats, type MerchantAccumulator, type MerchantStats } from './merchants/merchantStats.ts';
import { OutOfOrder } from './merchants/outOfOrder.ts';
import { windowFileSink } from './merchants/windowFileSink.ts';

/** What the pipeline emits: window results and, told apart by `kind`, the late side output. */
export type MerchantWindowOutput = WindowOutput<MerchantStats, Transaction>;

/** Event-time knobs of the job, each a `--set name=value`. */
export interface MerchantWindowSettings {
  windowMs: number;
  maxOutOfOrdernessMs: number;
  idleTimeoutMs: number;
  allowedLatenessMs: number;
}

export const DEFAULT_MERCHANT_WINDOW_SETTINGS: MerchantWindowSettings = {
  windowMs: 60_000,
  maxOutOfOrdernessMs: 5_000,
  idleTimeoutMs: 10_000,
  allowedLatenessMs: 30_000,
};

/**
 * The job's operator graph, with its window operator (the state a checkpoint snapshots).
 *
 * @example
 * const { windows, pipeline } = merchantWindows(ctx, DEFAULT_MERCHANT_WINDOW_SETTINGS);
 */
export function merchantWindows(
  ctx: JobContext,
  settings: MerchantWindowSettings,
): { windows: WindowOperator<Transaction, MerchantAccumulator, MerchantStats>; pipeline: OperatorFunction<Envelope<Transaction>, Envelope<MerchantWindowOutput>> } {
  const windows = new WindowOperator({
    assigner: new TumblingEventTimeWindows(settings.windowMs),
    aggregate: merchantStats(),
    watermarks: { maxOutOfOrdernessMs: settings.maxOutOfOrdernessMs, idleTimeoutMs: settings.idleTimeoutMs, clock: ctx.clock },
    allowedLatenessMs: settings.allowedLatenessMs,
    timestamp: (tx) => tx.timestamp,
  });
  // Checkpoints cover the windows; results not yet written hold a checkpoint back.
  ctx.checkpointed('merchant-windows', { snapshot: (scopes) => windows.snapshot(scopes), restore: (snapshot) => windows.restore(snapshot as ReturnType<typeof windows.snapshot>), quiescent: () => windows.pendingResults === 0 });
  // The source is keyed (and partitioned) by merchant, so each merchant's windows live in one partition's scope.
  return { windows, pipeline: pipe(keyBy((tx: Transaction) => tx.merchantId), windowAggregate(windows)) };
}

export default defineJob<Transaction, MerchantWindowOutput>({
  name: 'merchant-windows',
  source: (env) => merchantSource(env),
  pipeline: (ctx) => merchantWindows(ctx, windowSettings(ctx.env)).pipeline,
  sink: (env) =>
    windowFileSink<MerchantStats, Transaction>({
      results: env.settings.out ?? 'out/merchant-windows.jsonl',
      late: env.settings.late ?? 'out/merchant-windows-late.jsonl',
      formatResult: describeWindow,
      formatLate: describeLate,
    }),
  countAs: { label: 'windows', test: (output) => output.kind === 'window' },
});

/** One line of out/merchant-windows.jsonl. */
export function describeWindow(result: WindowResult<MerchantStats>): Record<string, unknown> {
  return {
    merchantId: result.key,
    windowStart: new Date(result.start).toISOString(),
    windowEnd: new Date(result.end).toISOString(),
    firing: result.firing,
    ...result.result,
  };
}

/** One line of out/merchant-windows-late.jsonl. */
export function describeLate(late: LateRecord<Transaction>): Record<string, unknown> {
  return { reason: late.reason, message: late.message, merchantId: late.key ?? null, eventTime: late.timestamp, watermark: late.watermark, transaction: late.value };
}

/** Synthetic transactions, shuffled out of event-time order; or a JSONL file with `--set input=path`. */
function merchantSource(env: RunEnvironment): Source<Transaction> {
  const key = (tx: Transaction) => tx.merchantId;
  const timestamp = (tx: Transaction) => tx.timestamp;
  if (env.settings.input !== undefined) {
    return jsonlFileSource({ path: env.settings.input, decode: jsonDecoder(parseTransaction), key, timestamp });
  }
  const next = syntheticTransactions(env);
  return generatorSource({
    name: 'synthetic-transactions',
    count: numberSetting(env, 'count', 300_000),
    ratePerSecond: env.settings.rate === undefined ? undefined : numberSetting(env, 'rate', 0),
    partitions: 4,
    make: next,
    key,
    timestamp,
  });
}

/**
 * The embedded stream: the fraud job's synthetic transactions (`--set seed, users, fraudRatio,
 * meanGapMs`), shuffled out of event-time order — about 2 s of disorder from a shuffling buffer,
 * and `stragglerRatio` (0.3 %) of them 5–90 s late. The same settings give the same sequence.
 */
export function syntheticTransactions(env: RunEnvironment): () => Transaction {
  const meanGapMs = Math.max(numberSetting(env, 'meanGapMs', 2), 0.001);
  const seed = numberSetting(env, 'seed', 42);
  const generator = new TransactionGenerator({ seed, users: numberSetting(env, 'users', 5000), fraudRatio: numberSetting(env, 'fraudRatio', 0.015), meanGapMs });
  const shuffled = new OutOfOrder(() => generator.next(), {
    seed: seed + 1,
    buffer: Math.max(1, Math.round(2_000 / meanGapMs)),
    stragglerRatio: numberSetting(env, 'stragglerRatio', 0.003),
    stragglerDelay: [Math.round(5_000 / meanGapMs), Math.round(90_000 / meanGapMs)],
  });
  return () => shuffled.next();
}

function windowSettings(env: RunEnvironment): MerchantWindowSettings {
  const d = DEFAULT_MERCHANT_WINDOW_SETTINGS;
  return {
    windowMs: numberSetting(env, 'windowMs', d.windowMs),
    maxOutOfOrdernessMs: numberSetting(env, 'maxOutOfOrdernessMs', d.maxOutOfOrdernessMs),
    idleTimeoutMs: numberSetting(env, 'idleTimeoutMs', d.idleTimeoutMs),
    allowedLatenessMs: numberSetting(env, 'allowedLatenessMs', d.allowedLatenessMs),
  };
}
