/**
 * The per-event cost of tracing and metrics, measured in one process: the embedded fraud job
 * runs again and again, cycling through the settings (off, tracing at the default rate, at 1 %,
 * metrics on), and the main thread's CPU time per event is compared. Taking turns inside one
 * process puts every setting under the same JIT state and the same neighbours, so this is far
 * steadier on a shared machine than comparing separate processes' events/s (bench/tracing.ts).
 * Spans are exported for real (OTLP/HTTP, protobuf) to an address that refuses them, so span
 * creation and serialisation are paid; only the network is not.
 *
 *   npx tsx bench/tracingInProcess.ts
 *   npx tsx bench/tracingInProcess.ts --count 300000 --rounds 8
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runJob } from '../core/engine/engine.ts';
import { resolveSettings } from '../core/settings.ts';
import { bindIO } from '../runtime/bindIO.ts';
import type { DeadLetter, Sink } from '../core/job.ts';
import { InferencePool } from '../runtime/inferencePool.ts';
import { loadJob } from '../runtime/loadJob.ts';
import { DEFAULT_SAMPLE_RATIO } from '../runtime/telemetry/sampling.ts';
import { startTelemetry, type TelemetryOptions } from '../runtime/telemetry/telemetry.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '7' }, workers: { type: 'string', default: '2' } } });
const count = Number(values.count);
const workers = Number(values.workers);
for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name];

const settings: { label: string; options: Partial<TelemetryOptions>; env: Record<string, string> }[] = [
  { label: 'tracing off', options: {}, env: {} },
  { label: `tracing at the default (${DEFAULT_SAMPLE_RATIO * 100} %)`, options: {}, env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } },
  { label: 'tracing at 1 %', options: { traceSample: 0.01 }, env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } },
  { label: 'metrics on', options: { metricsPort: 0, metricsHost: '127.0.0.1' }, env: {} },
];

const job = await loadJob('jobs/fraud-detection.ts');
const pool = new InferencePool({ workers });
const discard: Sink<DeadLetter> = { name: 'discard', write: async () => {} };

/** utime + stime of the main thread in ms (10 ms ticks). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function once(setting: (typeof settings)[number]): Promise<number> {
  Object.assign(process.env, setting.env);
  const telemetry = await startTelemetry({ jobName: job.name, pool, ...setting.options });
  for (const name of Object.keys(setting.env)) delete process.env[name];
  const cpu0 = mainThreadCpuMs();
  const jobSettings = resolveSettings(job.settings, { count: String(count) });
  const binding = bindIO(job, { kafka: undefined, topics: {}, inputFiles: {}, outputFiles: { decisions: 'none' }, outputMode: 'overwrite', settings: jobSettings });
  const running = runJob(job, {
    sources: telemetry.instrumentSources(binding.sources),
    sinks: binding.sinks,
    settings: jobSettings,
    maxInFlight: 20_000,
    inference: pool,
    deadLetterSink: discard,
    instrumentation: telemetry.instrumentation,
  });
  telemetry.attach(running);
  const stats = await running.done;
  const cpuMs = mainThreadCpuMs() - cpu0;
  await telemetry.stop();
  return (cpuMs * 1000) / stats.in;
}

const rounds = Number(values.rounds);
console.log(`embedded fraud job in one process, ${count.toLocaleString('en-US')} events per run, --workers ${workers}, ${rounds} rounds (the first is warm-up), main-thread CPU per event`);
const figures = new Map<string, number[]>(settings.map((s) => [s.label, []]));
for (let round = 0; round < rounds; round += 1) {
  const order = round % 2 === 0 ? settings : [...settings].reverse();
  for (const setting of order) {
    const usPerEvent = await once(setting);
    if (round > 0) figures.get(setting.label)!.push(usPerEvent);
  }
}
await pool.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const off = median(figures.get('tracing off')!);
for (const setting of settings) {
  const runs = figures.get(setting.label)!;
  const m = median(runs);
  const cost = setting.label === 'tracing off' ? '' : `   cost ${(((m - off) / off) * 100).toFixed(1).padStart(5)} %`;
  console.log(`${setting.label.padEnd(30)} ${m.toFixed(2).padStart(6)} µs/event${cost.padEnd(17)}   runs: ${runs.map((r) => r.toFixed(2)).join(' ')}`);
}
