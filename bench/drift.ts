/**
 * Drift monitoring on the fraud stream: (1) the per-event cost of the drift counts that
 * `driftMonitor` keeps (features + score binned against the manifest's reference), and (2) how
 * PSI behaves window by window on a healthy generated stream (the non-stationarity finding of
 * docs/monitoring.md), against the training reference and against one built on later rows.
 *
 *   npx tsx bench/drift.ts [--count 300000] [--window 20000]
 */
import { parseArgs } from 'node:util';
import '../runtime/onnxTelemetry.ts';
import * as ort from 'onnxruntime-node';
import { psi, type ReferenceHistogram } from '../core/drift/index.ts';
import { backfill, generate } from '../jobs/fraud/backfill.ts';
import { DriftCounts } from '../operators/monitoring/driftCounts.ts';
import { loadReference } from '../operators/monitoring/reference.ts';
import { driftColumns } from '../runtime/models/index.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '300000' }, window: { type: 'string', default: '20000' }, seed: { type: 'string', default: '42' } } });
const count = Number(values.count);
const windowRows = Number(values.window);
const { manifest, id } = loadReference(new URL('../models/fraud/1/manifest.json', import.meta.url).pathname);
const columns = driftColumns(manifest);
const width = manifest.features.length;

// Rows of the stream `npm start` makes (seed 42), with the model's scores.
const session = await ort.InferenceSession.create(new URL('../models/fraud/1/model.onnx', import.meta.url).pathname);
let rows: Float64Array[] = [];
let batch: Float32Array[] = [];
const flush = async () => {
  if (batch.length === 0) return;
  const input = new Float32Array(batch.length * width);
  batch.forEach((features, i) => input.set(features, i * width));
  const out = await session.run({ [manifest.inputs[0]!.name]: new ort.Tensor('float32', input, [batch.length, width]) });
  const scores = out[manifest.outputs[0]!.name]!.data as Float32Array;
  batch.forEach((features, i) => {
    const row = new Float64Array(width + 1);
    row.set(features);
    row[width] = scores[i]!;
    rows.push(row);
  });
  batch = [];
};
const scoredRows = async (n: number, seed: number): Promise<Float64Array[]> => {
  rows = [];
  for (const { features } of backfill(generate(n, seed))) {
    batch.push(Float32Array.from(features));
    if (batch.length === 4096) await flush();
  }
  await flush();
  return rows;
};
// The training rows of fraud@1 (seed 7, the first 140,000 are its reference), then the stream.
const training = await scoredRows(140_000, 7);
rows = await scoredRows(count, Number(values.seed));

// (1) Per-event cost: the counting driftMonitor does per record, against an empty loop over the same rows.
const measure = (label: string, body: (row: Float64Array) => void): number => {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const started = process.hrtime.bigint();
    for (const row of rows) body(row);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / rows.length);
  }
  console.log(`${label}: ${best.toFixed(1)} ns/event (best of 5 passes over ${rows.length} rows)`);
  return best;
};
let sink = 0;
const baseline = measure('loop only', (row) => (sink += row[0]!));
const counts = new DriftCounts(columns, {}, 100);
const row = new Float64Array(width + 1);
const drift = measure('drift counts (11 columns)', (r) => {
  for (let i = 0; i <= width; i++) row[i] = r[i]!;
  counts.add('transactions/0', row);
});
const closeStarted = process.hrtime.bigint();
counts.close(id, 0, 1);
console.log(`per event: ${(drift - baseline).toFixed(1)} ns; closing a window (11 PSI + KS): ${(Number(process.hrtime.bigint() - closeStarted) / 1000).toFixed(0)} µs ${sink > 0 ? '' : ' '}`);

// (2) PSI per window of `windowRows` rows, against the training reference and one re-binned from
// the training rows after the generator's cold start (the first 24 h: 43,200 rows at a 2 s gap).
const laterReference = (column: number, from: number): ReferenceHistogram => {
  const edges = columns[column]!.reference.edges;
  const tally = new Array<number>(edges.length + 1).fill(0);
  for (let i = from; i < training.length; i++) {
    const value = training[i]![column]!;
    let bin = 0;
    while (bin < edges.length && edges[bin]! <= value) bin++;
    tally[bin]!++;
  }
  const total = training.length - from;
  return { edges, proportions: tally.map((n) => n / total) };
};
const warmFrom = 43_200;
const later = columns.map((_, c) => laterReference(c, warmFrom));
console.log(`\nPSI per window of ${windowRows} rows (≈${((windowRows * 2) / 3600).toFixed(1)} h of event time) of seed ${values.seed}; T = the manifest's reference (training rows 0..140000), W = the same edges re-binned on training rows ${warmFrom}..140000`);
console.log(['window', ...columns.map((c) => c.name)].join('\t'));
for (let start = 0; start + windowRows <= rows.length; start += windowRows) {
  const cells: string[] = [String(start / windowRows)];
  columns.forEach((column, c) => {
    const tally = new Array<number>(column.reference.edges.length + 1).fill(0);
    for (let i = start; i < start + windowRows; i++) {
      const value = rows[i]![c]!;
      let bin = 0;
      while (bin < column.reference.edges.length && column.reference.edges[bin]! <= value) bin++;
      tally[bin]!++;
    }
    cells.push(`${psi(column.reference, tally).toFixed(3)}/${psi(later[c]!, tally).toFixed(3)}`);
  });
  console.log(cells.join('\t'));
}
