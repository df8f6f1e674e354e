/**
 * What the hop to the inference worker costs at a low rate: batches of 3 rows of the fraud MLP,
 * one every 2 ms (about 500 records/s), scored through the InferencePool (a piscina worker
 * thread) and, alternately, by the same onnxruntime-node call on this thread. Prints p50 / p99 of
 * each per round. Figures, not a test; light enough to run without the heavy-run lock.
 *
 *   npx tsx bench/poolHop.ts
 */
import { fileURLToPath } from 'node:url';
import '../runtime/onnxTelemetry.ts';
import * as ort from 'onnxruntime-node';
import { InferencePool } from '../runtime/inferencePool.ts';

const path = fileURLToPath(new URL('../models/fraud-v1.onnx', import.meta.url));
const ROWS = 3;
const pool = new InferencePool({ workers: 1 });
const model = pool.model(path, {});
await pool.ready();
// The worker's own session settings (runtime/inferenceWorker.ts).
const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
const quantile = (xs: number[], at: number) => [...xs].sort((a, b) => a - b)[Math.floor(at * xs.length)]!;
const ms = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(3)} p99 ${quantile(xs, 0.99).toFixed(3)} ms`;
for (let round = 1; round <= 3; round += 1) {
  const [hop, inline]: number[][] = [[], []];
  for (let i = 0; i < 1000; i += 1) {
    let started = performance.now();
    await model.run({ features: new Float32Array(ROWS * 10).fill(0.5), rows: ROWS, columns: 10, timeoutMs: 5000 });
    hop.push(performance.now() - started);
    started = performance.now();
    await session.run({ features: new ort.Tensor('float32', new Float32Array(ROWS * 10).fill(0.5), [ROWS, 10]) });
    inline.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  console.log(`round ${round}: through the pool ${ms(hop)} | on this thread ${ms(inline)} | ratio of p99s ${(quantile(hop, 0.99) / quantile(inline, 0.99)).toFixed(1)}`);
}
await pool.close();
