/**
 * A drift reference for the fraud model without the generator's cold start. The manifest's
 * reference bins all 140,000 training rows, and the first day of them are features of users with
 * no history yet (tx_count_24h = 0, every merchant new, no usual country), which a running stream
 * never sees again: against it a healthy stream reads PSI 0.21–0.26 on tx_count_24h and
 * foreign_country and ~0.17 on new_merchant (bench/drift.ts). This re-bins the same training rows,
 * on the manifest's own edges, leaving out their first 24 h of event time.
 *
 *   npx tsx jobs/monitoring/warmReference.ts models/fraud@1   # writes jobs/monitoring/fraud-1.warm-reference.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binIndex } from '../../core/drift/index.ts';
import { loadReference, type DriftReference } from '../../operators/monitoring/reference.ts';
import type { Manifest } from '../../runtime/models/index.ts';

/** Bins as a manifest stores them. */
type Histogram = { edges: number[]; proportions: number[] };

/** The warm reference file of a model version, beside this module. */
export interface WarmReference {
  readonly model: string;
  readonly basedOn: string;
  readonly rows: number;
  readonly features: Record<string, Histogram>;
  readonly score: Histogram;
}

const HERE = dirname(fileURLToPath(import.meta.url));
export const WARMUP_MS = 24 * 3600_000;

export function warmReferencePath(id: string): string {
  return join(HERE, `${id.replace('@', '-')}.warm-reference.json`);
}

/**
 * The model's drift reference: with `warm`, its manifest with the warm histograms of
 * {@link warmReferencePath} when that file exists for exactly this version (else the manifest's own).
 *
 * @example
 * const { id, manifest } = driftReference('models/fraud@1', 'warm');
 */
export function driftReference(spec: string, which: 'warm' | 'manifest'): DriftReference & { warm: boolean } {
  const reference = loadReference(spec);
  if (which === 'manifest') return { ...reference, warm: false };
  let saved: WarmReference;
  try {
    saved = JSON.parse(readFileSync(warmReferencePath(reference.id), 'utf8')) as WarmReference;
  } catch {
    return { ...reference, warm: false };
  }
  if (saved.model !== reference.id) return { ...reference, warm: false };
  const manifest: Manifest = { ...reference.manifest, reference: { rows: saved.rows, features: saved.features, score: saved.score } };
  return { id: reference.id, manifest, warm: true };
}

/** Bins rows (features then score) on the edges of a manifest's reference. */
export function rebin(manifest: Manifest, rows: Iterable<ArrayLike<number>>): Omit<WarmReference, 'model' | 'basedOn'> {
  const columns = [...manifest.features.map((name) => manifest.reference.features[name]!), manifest.reference.score];
  const tallies = columns.map((h) => new Array<number>(h.proportions.length).fill(0));
  let total = 0;
  for (const row of rows) {
    columns.forEach((h, c) => tallies[c]![binIndex(h.edges, row[c]!)]!++);
    total++;
  }
  const histogram = (c: number): Histogram => ({ edges: [...columns[c]!.edges], proportions: tallies[c]!.map((n) => Math.round((n / total) * 1e6) / 1e6) });
  return {
    rows: total,
    features: Object.fromEntries(manifest.features.map((name, c) => [name, histogram(c)])),
    score: histogram(columns.length - 1),
  };
}

async function main(spec: string): Promise<void> {
  const ort = await import('onnxruntime-node');
  const { backfill, generate } = await import('../fraud/backfill.ts');
  const { id, manifest } = loadReference(spec);
  const training = manifest.training as { seed?: number; rows: number };
  const modelPath = join(spec.includes('@') ? spec.replace(/@(\d+)$/, '/$1') : join(spec, String(manifest.version)), manifest.model.file);
  const session = await ort.InferenceSession.create(modelPath);
  const width = manifest.features.length;
  const rows: Float64Array[] = [];
  let first: number | undefined;
  let batch: Float32Array[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const input = new Float32Array(batch.length * width);
    batch.forEach((f, i) => input.set(f, i * width));
    const out = await session.run({ [manifest.inputs[0]!.name]: new ort.Tensor('float32', input, [batch.length, width]) });
    const scores = out[manifest.outputs[0]!.name]!.data as Float32Array;
    batch.forEach((f, i) => {
      const row = new Float64Array(width + 1);
      row.set(f);
      row[width] = scores[i]!;
      rows.push(row);
    });
    batch = [];
  };
  // The reference rows are the first `reference.rows` of the training stream (the train split).
  for (const { tx, features } of backfill(generate(manifest.reference.rows, training.seed ?? 7))) {
    first ??= tx.timestamp;
    if (tx.timestamp < first + WARMUP_MS) continue;
    batch.push(Float32Array.from(features));
    if (batch.length === 4096) await flush();
  }
  await flush();
  const warm: WarmReference = { model: id, basedOn: `training rows of seed ${training.seed ?? 7} after their first 24 h of event time, of the first ${manifest.reference.rows}`, ...rebin(manifest, rows) };
  writeFileSync(warmReferencePath(id), `${JSON.stringify(warm, null, 1)}\n`);
  console.log(`wrote ${warmReferencePath(id)}: ${warm.rows} rows`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2] ?? 'models/fraud@1');
