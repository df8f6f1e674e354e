/**
 * The per-event cost of `--ui`, measured in one process as bench/tracingInProcess.ts does for
 * tracing: the embedded fraud job runs again and again, taking turns between no dashboard and
 * a dashboard listening to the job's events (with a page's event stream connected, so the
 * once-a-second views are built and sent), and the main thread's CPU time per event is compared.
 *
 *   npx tsx bench/dashboard.ts
 *   npx tsx bench/dashboard.ts --count 300000 --rounds 7
 *
 * With `--parallelism N` (N > 1) each run is `sluice run --parallelism N` as a user runs it, a
 * child process per run (each stream thread collects its own view and sends it to the main
 * thread once a second), and the figure is the whole process's CPU per event, start-up included:
 *
 *   npx tsx bench/dashboard.ts --parallelism 2 --count 1000000 --rounds 5
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runJob } from '../core/engine/engine.ts';
import type { DeadLetter, Sink } from '../core/job.ts';
import { resolveSettings } from '../core/settings.ts';
import { bindIO } from '../runtime/bindIO.ts';
import { LazyInference } from '../runtime/lazyInference.ts';
import { loadJob } from '../runtime/loadJob.ts';
import { startTelemetry } from '../runtime/telemetry/telemetry.ts';
import { startRunDashboard } from '../runtime/ui/runDashboard.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '7' }, workers: { type: 'string', default: '2' }, parallelism: { type: 'string', default: '1' } } });
const count = Number(values.count);
const workers = Number(values.workers);
const parallelism = Number(values.parallelism);
for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name];

const job = await loadJob('jobs/fraud-detection.ts');
// The in-process runs' pool, started at their first model (a threaded run's process makes its own).
const pool = new LazyInference({ workers });
const discard: Sink<DeadLetter> = { name: 'discard', write: async () => {} };

/** utime + stime in ms (10 ms ticks) from a /proc stat file: a thread's or a whole process's. */
function cpuMs(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
const mainThreadCpuMs = () => cpuMs(`/proc/self/task/${process.pid}/stat`);

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

/** One `sluice run --parallelism N` in a child process, with a page's event stream connected when `ui`. */
async function onceThreaded(ui: boolean): Promise<{ usPerEvent: number; eventsPerSecond: number }> {
  const args = ['--import', tsx, 'runtime/cli.ts', 'run', 'jobs/fraud-detection.ts', '--no-progress', '--no-typecheck', '--parallelism', String(parallelism), '--workers', String(workers), '--set', `count=${count}`, '--output', 'decisions=none', ...(ui ? ['--ui', '0'] : [])];
  const child = spawn(process.execPath, args, { cwd: repo, env: process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let stream: ReturnType<typeof request> | undefined;
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    const url = /dashboard: (http:\/\/\S+)/.exec(err)?.[1];
    if (url !== undefined && stream === undefined) {
      // A page's event stream: the merged views are built and sent once a second, as with a browser open.
      stream = request(new URL('/api/events', url), (response) => response.resume());
      stream.on('error', () => {});
      stream.end();
    }
  });
  // The last reading before the process is gone (it is sampled every 50 ms: at most that much is missed).
  let used = 0;
  const sampler = setInterval(() => {
    try {
      used = cpuMs(`/proc/${child.pid!}/stat`);
    } catch {
      // Gone already: the last reading stands.
    }
  }, 50);
  const code = await new Promise((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  stream?.destroy();
  const match = /throughput\s+([\d,]+) events\/s/.exec(err);
  if (code !== 0 || !match) throw new Error(`${args.slice(4).join(' ')}: exited ${code}: ${err.trim().split('\n').at(-1)}`);
  if (ui && stream === undefined) throw new Error('the run printed no dashboard line');
  return { usPerEvent: (used * 1000) / count, eventsPerSecond: Number(match[1]!.replace(/,/g, '')) };
}

const repo = fileURLToPath(new URL('../', import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));

const rounds = Number(values.rounds);
console.log(
  parallelism > 1
    ? `embedded fraud job, sluice run --parallelism ${parallelism}, ${count.toLocaleString('en-US')} events per run, --workers ${workers}, ${rounds} rounds (the first is warm-up), turns between settings; CPU is the whole process's`
    : `embedded fraud job in one process, ${count.toLocaleString('en-US')} events per run, --workers ${workers}, ${rounds} rounds (the first is warm-up), turns between settings; CPU is the main thread's`,
);
const figures = { off: [] as Array<{ usPerEvent: number; eventsPerSecond: number }>, ui: [] as Array<{ usPerEvent: number; eventsPerSecond: number }> };
for (let round = 0; round < rounds; round += 1) {
  const order = round % 2 === 0 ? [false, true] : [true, false];
  for (const ui of order) {
    const result = parallelism > 1 ? await onceThreaded(ui) : await once(ui);
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
    `${label.padEnd(24)} ${cpu.toFixed(2).padStart(6)} µs CPU/event (×${(cpu / cpuOff).toFixed(3)})   ${Math.round(rate).toLocaleString('en-US').padStart(9)} events/s (×${(rate / rateOff).toFixed(3)})   runs: ${runs.map((r) => r.usPerEvent.toFixed(2)).join(' ')}`,
  );
}
