/**
 * The per-event cost of `--ui`, measured in one process as bench/tracingInProcess.ts does for
 * tracing: the embedded fraud job runs again and again, taking turns between no dashboard and
 * a dashboard listening to the job's events (with a page's event stream connected, so the
 * once-a-second views are built and sent), and the main thread's CPU time per event is compared.
 *
 *   npx tsx bench/dashboard.ts
 *   npx tsx bench/dashboard.ts --count 300000 --rounds 7
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { runJob } from '../core/engine/engine.ts';
import type { DeadLetter, Sink } from '../core/job.ts';
import { resolveSettings } from '../core/settings.ts';
import { bindIO } from '../runtime/bindIO.ts';
import { InferencePool } from '../runtime/inferencePool.ts';
import { loadJob } from '../runtime/loadJob.ts';
import { startTelemetry } from '../runtime/telemetry/telemetry.ts';
import { startRunDashboard } from '../runtime/ui/runDashboard.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '7' }, workers: { type: 'string', default: '2' } } });
const count = Number(values.count);
const workers = Number(values.workers);
for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name];

const job = await loadJob('jobs/fraud-detection.ts');
const pool = new InferencePool({ workers });
const discard: Sink<DeadLetter> = { name: 'discard', write: async () => {} };

/** utime + stime of the main thread in ms (10 ms ticks). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function once(ui: boolean): Promise<{ usPerEvent: number; eventsPerSecond: number }> {
  const telemetry = await startTelemetry({ jobName: job.name, pool });
  const jobSettings = resolveSettings(job.settings, { count: String(count) });
  const binding = bindIO(job, { kafka: undefined, topics: {}, inputFiles: {}, outputFiles: { decisions: 'none' }, outputMode: 'overwrite', settings: jobSettings });
  const dashboard = ui ? await startRunDashboard({ port: 0, redact: false }, { job, binding, telemetry, maxInFlight: 20_000, workers }) : undefined;
  // A page's event stream: the views are built and sent once a second, as with a browser open.
  const stream = dashboard === undefined ? undefined : request(new URL('/api/events', dashboard.url), (response) => response.resume());
  stream?.on('error', () => {});
  stream?.end();
  const cpu0 = mainThreadCpuMs();
  const running = runJob(job, { sources: binding.sources, sinks: binding.sinks, settings: jobSettings, maxInFlight: 20_000, inference: pool, deadLetterSink: discard, instrumentation: telemetry.instrumentation });
  dashboard?.attach(running);
  const stats = await running.done;
  const cpuMs = mainThreadCpuMs() - cpu0;
  stream?.destroy();
  await dashboard?.close();
  await telemetry.stop();
  return { usPerEvent: (cpuMs * 1000) / stats.in, eventsPerSecond: stats.in / (stats.activeMs / 1000) };
}

const rounds = Number(values.rounds);
console.log(`embedded fraud job in one process, ${count.toLocaleString('en-US')} events per run, --workers ${workers}, ${rounds} rounds (the first is warm-up), turns between settings`);
const figures = { off: [] as Array<{ usPerEvent: number; eventsPerSecond: number }>, ui: [] as Array<{ usPerEvent: number; eventsPerSecond: number }> };
for (let round = 0; round < rounds; round += 1) {
  const order = round % 2 === 0 ? [false, true] : [true, false];
  for (const ui of order) {
    const result = await once(ui);
    if (round > 0) figures[ui ? 'ui' : 'off'].push(result);
  }
}
await pool.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuOff = median(figures.off.map((f) => f.usPerEvent));
const rateOff = median(figures.off.map((f) => f.eventsPerSecond));
for (const [label, runs] of [['no dashboard', figures.off], ['--ui (page connected)', figures.ui]] as const) {
  const cpu = median(runs.map((f) => f.usPerEvent));
  const rate = median(runs.map((f) => f.eventsPerSecond));
  console.log(
    `${label.padEnd(24)} ${cpu.toFixed(2).padStart(6)} µs/event main thread (×${(cpu / cpuOff).toFixed(3)})   ${Math.round(rate).toLocaleString('en-US').padStart(9)} events/s (×${(rate / rateOff).toFixed(3)})   runs: ${runs.map((r) => r.usPerEvent.toFixed(2)).join(' ')}`,
  );
}
