import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { streamingUpdater } from '../../core/features/index.ts';
import { FEATURE_NAMES, featureVector, fraudFeatures } from './featureView.ts';
import { TransactionGenerator, type Transaction } from './transactions.ts';

/** One training row: the transaction, its features as the streaming job would compute them, its label. */
export interface BackfillRow {
  tx: Transaction;
  features: Float32Array;
  /** 1 if `tx.isFraud`, else 0 (also 0 when the label is unknown). */
  label: number;
}

/**
 * Replays transactions in arrival order through the fraud feature view's streaming update (the
 * one `userFeatures()` runs in keyed state), one state per user, and yields a training row per
 * transaction.
 *
 * @example
 * const gen = new TransactionGenerator({ seed: 7 });
 * const txs = Array.from({ length: 1000 }, () => gen.next());
 * for (const { features, label } of backfill(txs)) console.log(features[0], label);
 */
export function* backfill(transactions: Iterable<Transaction>): Generator<BackfillRow> {
  const update = streamingUpdater(fraudFeatures);
  for (const tx of transactions) yield { tx, features: featureVector(update(tx)), label: tx.isFraud === true ? 1 : 0 };
}

/**
 * `count` transactions from a seeded generator, lazily.
 *
 * @example
 * backfill(generate(1000, 7));
 */
export function* generate(count: number, seed: number): Generator<Transaction> {
  const generator = new TransactionGenerator({ seed });
  for (let i = 0; i < count; i++) yield generator.next();
}

/** A float32 in the shortest text that reads back as the same float32. */
function formatFeature(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(9)));
}

/**
 * Writes a CSV with a header of FEATURE_NAMES plus `label`, one row per transaction.
 *
 * @example
 * await writeTrainingCsv('models/data/train.csv', backfill(generate(200_000, 7)));
 */
export async function writeTrainingCsv(path: string, rows: Iterable<BackfillRow>): Promise<{ rows: number; frauds: number }> {
  await mkdir(dirname(resolve(path)), { recursive: true });
  const out = createWriteStream(path);
  let chunk = `${[...FEATURE_NAMES, 'label'].join(',')}\n`;
  let count = 0;
  let frauds = 0;
  for (const { features, label } of rows) {
    for (let i = 0; i < features.length; i++) chunk += `${formatFeature(features[i]!)},`;
    chunk += `${label}\n`;
    count++;
    frauds += label;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return { rows: count, frauds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '200000' },
      seed: { type: 'string', default: '7' },
      out: { type: 'string', default: 'models/data/train.csv' },
    },
  });
  const count = Number(values.count);
  const seed = Number(values.seed);
  if (!Number.isInteger(count) || count <= 0) throw new Error(`--count must be a positive integer (got ${values.count})`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer (got ${values.seed})`);
  const started = performance.now();
  const { rows, frauds } = await writeTrainingCsv(values.out, backfill(generate(count, seed)));
  const seconds = (performance.now() - started) / 1000;
  console.log(`wrote ${rows} rows (${frauds} fraud, ${((100 * frauds) / rows).toFixed(2)}%) to ${values.out} in ${seconds.toFixed(1)} s`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
