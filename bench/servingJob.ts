/**
 * Serving-pattern benchmark: the fraud job embedded (`infer` on its own worker pool) beside the
 * same job as an enricher (`enrich.model` calling `sluice serve` on this machine), each in its
 * own process, and the cost of the network hop alone (one request to the service vs one call
 * on a local pool, sequential). Two runs per pattern: as fast as it goes (events/s), and at a
 * fixed rate below capacity (latency without queueing). Figures, not a test. `npm run
 * bench:serving` runs it after the service-alone figures; alone:
 *
 *   npx tsx bench/servingJob.ts --count 20000 --rate 1000 --seconds 5
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { oipClient } from '../connectors/modelService/oipClient.ts';
import { InferencePool } from '../runtime/inferencePool.ts';
import { startModelService } from '../runtime/serve/modelService.ts';

const MODEL = 'models/fraud-v1.onnx';
const repo = fileURLToPath(new URL('../', import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));

interface Figures {
  eventsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  fallbacks: number;
}

export interface ServingJobBenchOptions {
  /** Events of the as-fast-as-it-goes run. */
  readonly count: number;
  /** Events per second of the latency run, which lasts `seconds`. */
  readonly rate: number;
  readonly seconds: number;
}

/** Runs `sluice run jobs/fraud-detection.ts` with the given settings; reads its summary. */
async function runJob(settings: Record<string, string>, workers: number): Promise<Figures> {
  const sets = Object.entries(settings).flatMap(([name, value]) => ['--set', `${name}=${value}`]);
  const child = spawn(process.execPath, ['--import', tsx, 'runtime/cli.ts', 'run', 'jobs/fraud-detection.ts', '--no-progress', '--output', 'decisions=none', '--workers', String(workers), ...sets], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The summary goes to stderr (stdout may carry the output records).
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the job exited ${code}: ${out}`);
  const throughput = /throughput\s+([\d,]+) events\/s/.exec(out);
  const latency = /latency\s+p50 ([\d.,]+) ms, p95 ([\d.,]+) ms, p99 ([\d.,]+) ms/.exec(out);
  const deadLettered = /([\d,]+) dead-lettered/.exec(out);
  if (!throughput || !latency) throw new Error(`no summary in: ${out}`);
  const number = (text: string) => Number(text.replace(/,/g, ''));
  return { eventsPerSecond: number(throughput[1]!), p50: number(latency[1]!), p95: number(latency[2]!), p99: number(latency[3]!), fallbacks: number(deadLettered?.[1] ?? '0') };
}

/** `sluice serve` in a child process on a free port; resolves with its URL once it listens. */
async function serve(workers: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', tsx, 'runtime/cli.ts', 'serve', MODEL, '--port', '0', '--workers', String(workers), '--max-delay-ms', '0'], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`sluice serve exited ${code}: ${out}`)));
  });
  return { url, child };
}

/** p50 of `n` sequential calls, ms. */
async function p50Of(n: number, call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i += 1) await call(); // warm up
  const times: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const started = performance.now();
    await call();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}

/** The hop alone: the same batch on a local pool and through the service (both 1 worker, in this process). */
async function hopCost(rows: number): Promise<{ local: number; remote: number }> {
  const features = Float32Array.from({ length: rows * 10 }, (_, i) => ((i * 7919) % 100) / 50 - 1);
  const pool = new InferencePool({ workers: 1 });
  const service = await startModelService({ model: MODEL, port: 0, workers: 1, maxDelayMs: 0 });
  try {
    const model = pool.model(MODEL);
    // The pool transfers the features' buffer to the worker: a fresh copy per call.
    const local = await p50Of(300, () => model.run({ features: features.slice(), rows, columns: 10, timeoutMs: 10_000 }));
    const client = oipClient({ url: service.url, model: service.model.name, timeoutMs: 10_000 });
    const remote = await p50Of(300, () => client.infer(features, rows, 10));
    return { local, remote };
  } finally {
    await service.close();
    await pool.close();
  }
}

function row(label: string, f: Figures): string {
  return `  ${label.padEnd(28)} ${f.eventsPerSecond.toLocaleString('en-US').padStart(9)} ev/s   p50 ${f.p50.toFixed(1).padStart(7)} ms   p95 ${f.p95.toFixed(1).padStart(7)} ms   p99 ${f.p99.toFixed(1).padStart(7)} ms   fallbacks ${f.fallbacks}`;
}

/**
 * The fraud job embedded vs enricher, side by side, and the hop's cost.
 *
 * @example
 * await servingJobBench({ count: 20_000, rate: 1000, seconds: 5 });
 */
export async function servingJobBench(options: ServingJobBenchOptions): Promise<void> {
  const base = { model: fileURLToPath(new URL(`../${MODEL}`, import.meta.url)) };
  const paced = { count: String(options.rate * options.seconds), rate: String(options.rate) };
  console.log(`\nfraud job, embedded vs enricher (job and service each 1 worker thread, service on this machine)`);
  const { url, child } = await serve(1);
  try {
    const enricher = { ...base, serving: 'enricher', modelUrl: url };
    console.log(` as fast as it goes, ${options.count.toLocaleString('en-US')} events:`);
    console.log(row('embedded', await runJob({ ...base, count: String(options.count) }, 1)));
    console.log(row('enricher', await runJob({ ...enricher, count: String(options.count) }, 1)));
    console.log(` at ${options.rate.toLocaleString('en-US')} events/s for ${options.seconds} s (latency below capacity):`);
    const embeddedPaced = await runJob({ ...base, ...paced }, 1);
    const enricherPaced = await runJob({ ...enricher, ...paced }, 1);
    console.log(row('embedded', embeddedPaced));
    console.log(row('enricher', enricherPaced));
    console.log(`  the hop in the job (paced p50 enricher − embedded): ${(enricherPaced.p50 - embeddedPaced.p50).toFixed(1)} ms`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  for (const rows of [1, 64]) {
    const { local, remote } = await hopCost(rows);
    console.log(` one batch of ${String(rows).padStart(2)} row(s), sequential p50: local pool ${local.toFixed(2)} ms, service ${remote.toFixed(2)} ms → hop ${(remote - local).toFixed(2)} ms`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '20000' }, rate: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '5' } } });
  await servingJobBench({ count: Number(values.count), rate: Number(values.rate), seconds: Number(values.seconds) });
}
