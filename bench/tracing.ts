/**
 * Tracing and metrics cost on the embedded fraud job: throughput with tracing off, at the
 * default sample rate, at 100 %, and with /metrics on, each in its own process, the runs
 * interleaved and repeated so a noisy neighbour hits every setting alike. Spans go over OTLP/HTTP
 * (the SDK's default protobuf encoding) to a receiver in this process that accepts and drops
 * them, so serialising and sending is part of the cost. Figures, not a test.
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
  { label: 'metrics on (--metrics-port)', args: ['--metrics-port', '0'], env: {} },
];

async function run(setting: Setting): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('OTEL_')) delete env[name];
  const child = spawn(
    process.execPath,
    ['--import', tsx, 'runtime/cli.ts', 'run', 'jobs/fraud-detection.ts', '--no-progress', '--workers', values.workers!, '--set', `count=${count}`, '--set', 'output=/dev/null', ...setting.args],
    { cwd: repo, env: { ...env, ...setting.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${setting.label} exited ${code}: ${out}${err}`);
  const throughput = /throughput\s+([\d,]+) events\/s/.exec(out);
  if (!throughput) throw new Error(`${setting.label}: no summary in ${out}`);
  return Number(throughput[1]!.replace(/,/g, ''));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`embedded fraud job, ${count.toLocaleString('en-US')} events per run, --workers ${values.workers}, ${repeat} interleaved runs per setting (median)`);
const figures = new Map<string, number[]>(settings.map((s) => [s.label, []]));
const spans = new Map<string, number>();
for (let round = 0; round < repeat; round += 1) {
  for (const setting of settings) {
    const before = exports;
    figures.get(setting.label)!.push(await run(setting));
    spans.set(setting.label, (spans.get(setting.label) ?? 0) + exports - before);
  }
}
receiver.close();

const off = median(figures.get('tracing off')!);
for (const setting of settings) {
  const runs = figures.get(setting.label)!;
  const m = median(runs);
  const cost = setting.label === 'tracing off' ? '' : `   cost ${(((off - m) / off) * 100).toFixed(1).padStart(5)} %   (x${(m / off).toFixed(3)})`;
  const sent = (spans.get(setting.label) ?? 0) > 0 ? `   ${Math.round(spans.get(setting.label)! / repeat)} exports/run` : '';
  console.log(`${setting.label.padEnd(32)} ${m.toLocaleString('en-US').padStart(9)} ev/s${cost}${sent}   runs: ${runs.map((r) => r.toLocaleString('en-US')).join(', ')}`);
}
const atDefault = median(figures.get(settings[1]!.label)!);
console.log(`default sample rate costs ${(((off - atDefault) / off) * 100).toFixed(1)} % of throughput (target < 10 %): ${off - atDefault < off * 0.1 ? 'met' : 'not met'}`);
console.log(`OTLP received ${(exportedBytes / 1024 / 1024).toFixed(1)} MiB in ${exports} requests over all runs`);
