/**
 * Tracing and metrics cost on the embedded fraud job: throughput with tracing off, at the
 * default sample rate, at 100 %, and with /metrics on, each in its own process, the runs
 * interleaved and repeated so a noisy neighbour hits every setting alike. Spans go over OTLP/HTTP
 * (the SDK's default protobuf encoding) to a receiver in this process that accepts and drops
 * them, so serialising and sending is part of the cost. Besides events/s it prints the main
 * thread's CPU time per event (the main thread is the bottleneck of the embedded job), which
 * neighbours on a shared machine disturb much less, and the whole process's (workers, GC helper
 * threads). Each run is measured after a warm-up run in
 * the same process (bench/tracingRun.ts). Figures, not a test.
 *
 *   npx tsx bench/tracing.ts
 *   npx tsx bench/tracing.ts --count 1000000 --repeat 5
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_SAMPLE_RATIO } from '../runtime/telemetry/sampling.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '500000' }, repeat: { type: 'string', default: '3' }, workers: { type: 'string', default: '2' } } });
const count = Number(values.count);
const repeat = Number(values.repeat);
const repo = fileURLToPath(new URL('../', import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));

// The OTLP endpoint: counts export requests and bytes, answers 200, keeps nothing.
let exports = 0;
let exportedBytes = 0;
const receiver = createServer((request, response) => {
  request.on('data', (chunk: Buffer) => (exportedBytes += chunk.length));
  request.on('end', () => {
    exports += 1;
    response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/x-protobuf' }).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

interface Setting {
  label: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

const settings: Setting[] = [
  { label: 'tracing off', args: [], env: {} },
  { label: `tracing at the default (${DEFAULT_SAMPLE_RATIO * 100} %)`, args: [], env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } },
  { label: 'tracing at 1 %', args: ['--trace-sample', '0.01'], env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } },
  { label: 'tracing at 100 %', args: ['--trace-sample', '1'], env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } },
  { label: 'metrics on (--metrics-port)', args: ['--metrics'], env: {} },
];

/** One run: events/s, and CPU ms (all threads, user + system) per 1000 events. */
async function run(setting: Setting): Promise<{ rate: number; cpu: number; processCpu: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('OTEL_')) delete env[name];
  const child = spawn(process.execPath, ['--import', tsx, 'bench/tracingRun.ts', '--count', String(count), '--workers', values.workers!, ...setting.args], {
    cwd: repo,
    env: { ...env, ...setting.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${setting.label} exited ${code}: ${out}${err}`);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as { rate: number; mainCpuUsPerEvent: number; processCpuUsPerEvent: number };
  return { rate: Math.round(result.rate), cpu: result.mainCpuUsPerEvent, processCpu: result.processCpuUsPerEvent };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`embedded fraud job, ${count.toLocaleString('en-US')} events per run after a warm-up run, --workers ${values.workers}, ${repeat} interleaved runs per setting (median)`);
const figures = new Map<string, { rate: number; cpu: number; processCpu: number }[]>(settings.map((s) => [s.label, []]));
const spans = new Map<string, number>();
for (let round = 0; round < repeat; round += 1) {
  // Alternate the order, so a neighbour's burst does not always land on the same setting.
  for (const setting of round % 2 === 0 ? settings : [...settings].reverse()) {
    const before = exports;
    figures.get(setting.label)!.push(await run(setting));
    spans.set(setting.label, (spans.get(setting.label) ?? 0) + exports - before);
  }
}
receiver.close();

const rateOf = (label: string) => median(figures.get(label)!.map((f) => f.rate));
const cpuOf = (label: string) => median(figures.get(label)!.map((f) => f.cpu));
const processCpuOf = (label: string) => median(figures.get(label)!.map((f) => f.processCpu));
const offRate = rateOf('tracing off');
const offCpu = cpuOf('tracing off');
const offProcessCpu = processCpuOf('tracing off');
const percent = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
console.log(`${''.padEnd(32)} ${'events/s'.padStart(9)}  ${'cost'.padStart(7)}   ${'main-thread µs/event'.padStart(20)} ${'cost'.padStart(7)}   ${'process µs/event'.padStart(16)} ${'cost'.padStart(7)}`);
for (const setting of settings) {
  const rate = rateOf(setting.label);
  const cpu = cpuOf(setting.label);
  const processCpu = processCpuOf(setting.label);
  const off = setting.label === 'tracing off';
  const sent = (spans.get(setting.label) ?? 0) > 0 ? `   ${Math.round(spans.get(setting.label)! / repeat)} exports/run` : '';
  console.log(`${setting.label.padEnd(32)} ${rate.toLocaleString('en-US').padStart(9)}  ${off ? '       ' : percent((offRate - rate) / offRate)}   ${cpu.toFixed(2).padStart(20)} ${off ? '       ' : percent((cpu - offCpu) / offCpu)}   ${processCpu.toFixed(2).padStart(16)} ${off ? '       ' : percent((processCpu - offProcessCpu) / offProcessCpu)}${sent}`);
  console.log(`${''.padEnd(34)}runs: ${figures.get(setting.label)!.map((f) => `${f.rate.toLocaleString('en-US')} ev/s ${f.cpu.toFixed(2)} µs`).join(' | ')}`);
}
const defaultLabel = settings[1]!.label;
console.log(`default sample rate: ${percent((offRate - rateOf(defaultLabel)) / offRate).trim()} of throughput, ${percent((cpuOf(defaultLabel) - offCpu) / offCpu).trim()} more main-thread CPU per event (target < 10 %)`);
console.log(`OTLP received ${(exportedBytes / 1024 / 1024).toFixed(1)} MiB in ${exports} requests over all runs`);
