/**
 * What `--ui` costs with stream threads: the embedded fraud job as a user runs it (`sluice run
 * --parallelism 2`, a child process per run), taking turns between no dashboard and `--ui` with
 * a page's event stream connected, and the process's CPU per event and events/s compared. With
 * threads each thread collects its own view and sends it to the main thread once a second;
 * this is the whole of that, end to end. (bench/dashboard.ts measures one thread in-process.)
 *
 *   npx tsx bench/dashboardThreads.ts
 *   npx tsx bench/dashboardThreads.ts --count 400000 --rounds 5 --parallelism 2
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { count: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '5' }, parallelism: { type: 'string', default: '2' } } });
const count = Number(values.count);
const rounds = Number(values.rounds);
const repo = fileURLToPath(new URL('../', import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));
const env = { ...process.env };
for (const name of Object.keys(env)) if (name.startsWith('OTEL_')) delete env[name];

/** utime + stime of a whole process (every thread) in ms, from /proc (10 ms ticks). */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

async function once(ui: boolean): Promise<{ usPerEvent: number; eventsPerSecond: number }> {
  const args = ['--import', tsx, 'runtime/cli.ts', 'run', 'jobs/fraud-detection.ts', '--no-progress', '--no-typecheck', '--parallelism', values.parallelism!, '--workers', '2', '--set', `count=${count}`, '--output', 'decisions=none', ...(ui ? ['--ui', '0'] : [])];
  const child = spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'] });
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
  let cpuMs = 0;
  const sampler = setInterval(() => (cpuMs = processCpuMs(child.pid!) ?? cpuMs), 50);
  const code = await new Promise((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  stream?.destroy();
  const match = /throughput\s+([\d,]+) events\/s/.exec(err);
  if (code !== 0 || !match) throw new Error(`${args.slice(4).join(' ')}: exited ${code}: ${err.trim().split('\n').at(-1)}`);
  if (ui && stream === undefined) throw new Error('the run printed no dashboard line');
  return { usPerEvent: (cpuMs * 1000) / count, eventsPerSecond: Number(match[1]!.replace(/,/g, '')) };
}

console.log(`embedded fraud job, sluice run --parallelism ${values.parallelism}, ${count.toLocaleString('en-US')} events per run, ${rounds} rounds (the first is warm-up), turns between settings`);
const figures = { off: [] as Array<{ usPerEvent: number; eventsPerSecond: number }>, ui: [] as Array<{ usPerEvent: number; eventsPerSecond: number }> };
for (let round = 0; round < rounds; round += 1) {
  const order = round % 2 === 0 ? [false, true] : [true, false];
  for (const ui of order) {
    const result = await once(ui);
    console.log(`  round ${round}${round === 0 ? ' (warm-up)' : ''}  ${ui ? '--ui' : 'off '}  ${result.usPerEvent.toFixed(2)} µs CPU/event  ${Math.round(result.eventsPerSecond).toLocaleString('en-US')} events/s`);
    if (round > 0) figures[ui ? 'ui' : 'off'].push(result);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuOff = median(figures.off.map((f) => f.usPerEvent));
const rateOff = median(figures.off.map((f) => f.eventsPerSecond));
for (const [label, runs] of [['no dashboard', figures.off], ['--ui (page connected)', figures.ui]] as const) {
  const cpu = median(runs.map((f) => f.usPerEvent));
  const rate = median(runs.map((f) => f.eventsPerSecond));
  console.log(`${label.padEnd(24)} ${cpu.toFixed(2).padStart(6)} µs CPU/event, all threads (×${(cpu / cpuOff).toFixed(3)})   ${Math.round(rate).toLocaleString('en-US').padStart(9)} events/s (×${(rate / rateOff).toFixed(3)})`);
}
