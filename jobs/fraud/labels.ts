/**
 * The fraud labels for training from the feature store: one JSON line per generated transaction,
 * `{"entity":"u0421","eventTime":1700000002000,"label":0}` (the generator's ground truth,
 * `isFraud`), for `sluice features training-set --labels`. The events come from the fraud job's
 * own generator with the same settings as `sluice features backfill --set ...`, so every label
 * has the feature row of its own transaction in the offline store.
 *
 *   npx tsx jobs/fraud/labels.ts --set count=200000 --set seed=7 --out models/data/labels.jsonl
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveSettings } from '../../core/settings.ts';
import job from '../fraud-detection.ts';
import { parseTransaction } from './transactions.ts';

/**
 * The labels of the transactions the fraud job's generator makes with `settings` (texts, as for
 * `--set`); the job's `count` setting bounds them.
 *
 * @example
 * for (const label of fraudLabels({ count: '1000', seed: '7' })) console.log(label.entity, label.label);
 */
export function* fraudLabels(settings: Readonly<Record<string, string>>): Generator<{ entity: string; eventTime: number; label: number }> {
  const generator = job.generators(resolveSettings(job.settings, settings)).transactions;
  if (generator === undefined || !Number.isFinite(generator.count)) throw new Error('the fraud job generator is unbounded: give --set count=N');
  for (let i = 0; i < generator.count; i++) {
    const tx = parseTransaction(generator.make(i));
    yield { entity: tx.userId, eventTime: tx.timestamp, label: tx.isFraud === true ? 1 : 0 };
  }
}

/**
 * Writes `fraudLabels(settings)` as JSONL to `path`.
 *
 * @example
 * await writeLabels('models/data/labels.jsonl', { count: '200000', seed: '7' });
 */
export async function writeLabels(path: string, settings: Readonly<Record<string, string>>): Promise<{ rows: number; frauds: number }> {
  await mkdir(dirname(resolve(path)), { recursive: true });
  const out = createWriteStream(path);
  let chunk = '';
  let rows = 0;
  let frauds = 0;
  for (const label of fraudLabels(settings)) {
    chunk += `${JSON.stringify(label)}\n`;
    rows++;
    frauds += label.label;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return { rows, frauds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { set: { type: 'string', multiple: true, default: [] }, out: { type: 'string', default: 'models/data/labels.jsonl' } } });
  const settings: Record<string, string> = {};
  for (const pair of values.set) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--set takes name=value (got ${pair})`);
    settings[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const { rows, frauds } = await writeLabels(values.out, settings);
  console.error(`labels: ${rows.toLocaleString('en-US')} (${frauds.toLocaleString('en-US')} fraud) written to ${values.out}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
