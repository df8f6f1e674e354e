/**
 * Model service benchmark: `sluice serve`'s service alone under concurrent load. Closed-loop
 * clients (oipClient, keep-alive) each send one request after another for a few seconds; the
 * service batches them dynamically. Prints requests/s, rows/s, p50/p99 per request and the
 * histogram of rows per model call, for each max-delay setting. Client and service share this
 * process (and the machine's cores): figures, not a test. Then the fraud job embedded vs
 * enricher side by side (bench/servingJob.ts); `--job-count 0` skips it.
 *
 *   npm run bench:serving
 *   npm run bench:serving -- --seconds 10 --concurrency 128 --rows 4 --delays 0,2,5
 *   npm run bench:serving -- --job-count 50000 --job-rate 2000 --job-seconds 10
 */
import { parseArgs } from 'node:util';
import { oipClient } from '../connectors/modelService/oipClient.ts';
import { InferencePool } from '../runtime/inferencePool.ts';
import { startModelService } from '../runtime/serve/modelService.ts';
import { servingJobBench } from './servingJob.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '64' },
    rows: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    'max-batch': { type: 'string', default: '256' },
    delays: { type: 'string', default: '0,2' },
    'job-count': { type: 'string', default: '20000' },
    'job-rate': { type: 'string', default: '1000' },
    'job-seconds': { type: 'string', default: '5' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const rows = Number(values.rows);
const workers = Number(values.workers);
const maxBatch = Number(values['max-batch']);
const MODEL = 'models/fraud-v1.onnx';
const COLUMNS = 10;

async function phase(maxDelayMs: number): Promise<void> {
  const pool = new InferencePool({ workers });
  const batches: number[] = [];
  // Count rows per model call at the pool, the batcher's real output.
  const counting = {
    workers,
    get queueSize() {
      return pool.queueSize;
    },
    ready: () => pool.ready(),
    model: (path: string) => {
      const handle = pool.model(path);
      return { path, run: (request: Parameters<typeof handle.run>[0]) => (batches.push(request.rows), handle.run(request)) };
    },
  };
  const service = await startModelService({ model: MODEL, port: 0, pool: counting, maxBatch, maxDelayMs });
  const client = oipClient({ url: service.url, model: service.model.name, timeoutMs: 10_000 });
  const features = Float32Array.from({ length: rows * COLUMNS }, (_, i) => ((i * 7919) % 100) / 50 - 1);
  await client.infer(features, rows, COLUMNS); // metadata and first connection outside the measurement
  batches.length = 0;
  const latencies: number[] = [];
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const sent = performance.now();
        try {
          await client.infer(features, rows, COLUMNS);
          latencies.push(performance.now() - sent);
        } catch {
          failures += 1;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await service.close();
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const requestsPerSecond = latencies.length / elapsed;
  console.log(
    `max-delay ${String(maxDelayMs).padStart(2)} ms: ${Math.round(requestsPerSecond).toLocaleString('en-US').padStart(7)} req/s  ${Math.round(requestsPerSecond * rows).toLocaleString('en-US').padStart(7)} rows/s  ` +
      `p50 ${at(0.5).toFixed(2)} ms  p99 ${at(0.99).toFixed(2)} ms  model calls ${batches.length.toLocaleString('en-US')} (mean ${(batches.reduce((a, b) => a + b, 0) / Math.max(1, batches.length)).toFixed(1)} rows)  failures ${failures}`,
  );
  console.log(`  rows per model call: ${histogram(batches)}`);
}

/** Counts per power-of-two bucket: "≤1: 10  ≤2: 40 ...". */
function histogram(sizes: number[]): string {
  const buckets = new Map<number, number>();
  for (const size of sizes) {
    const bucket = 2 ** Math.ceil(Math.log2(size));
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([bucket, count]) => `≤${bucket}: ${count}`).join('  ');
}

console.log(`model service alone: ${concurrency} closed-loop clients × ${rows} row(s) per request, ${workers} workers, max-batch ${maxBatch}, ${seconds} s per setting`);
for (const delay of values.delays!.split(',').map(Number)) await phase(delay);
if (Number(values['job-count']) > 0) await servingJobBench({ count: Number(values['job-count']), rate: Number(values['job-rate']), seconds: Number(values['job-seconds']) });
