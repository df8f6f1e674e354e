/**
 * Embedded fraud-job benchmark: the job on one stream thread at --workers 1 and 2, the same job
 * scoring one record at a time (batch=1), and the job on two stream threads (--parallelism 2),
 * each in its own process, one after another in this run. Prints events/s, latency percentiles
 * and the ratios. Figures, not a test: the machine is shared and noisy.
 *
 *   npm run bench                       # 1,000,000 events per run
 *   npm run bench -- --count 300000
 *   npm run bench -- --count 300000 --scaling 3   # only --parallelism 1 and 2 (--workers 2), 3 rounds (every second one in reverse), ratio per round and median
 *   npm run bench -- --against 981e479 --rounds 3  # that commit's fraud job (--workers 2) against this tree's at --parallelism 2 and 1, every second round in reverse
 *
 * `--against` runs the other commit from a `git archive` copy in /tmp that shares this
 * checkout's node_modules (bench/baseCopy.ts), each engine with its own fraud job: issue 11's
 * "embedded ≥ 1.5 × today's with --parallelism 2" is measured against 981e479 this way.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { baseCopy } from './baseCopy.ts';
import { runInRoundOrder } from './roundOrder.ts';

interface Figures {
  label: string;
  eventsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
}

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    extra: { type: 'string', multiple: true, default: [] },
    scaling: { type: 'string' },
    against: { type: 'string' },
    rounds: { type: 'string', default: '3' },
  },
});
const count = Number(values.count);
const repo = fileURLToPath(new URL('../', import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));

async function run(label: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = repo): Promise<Figures> {
  const child = spawn(process.execPath, ['--import', tsx, 'runtime/cli.ts', 'run', 'jobs/fraud-detection.ts', '--no-progress', '--set', `count=${count}`, '--output', 'decisions=none', ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The summary is on stderr (stdout is the job's records).
  let out = '';
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${label} exited ${code}: ${out}`);
  const throughput = /throughput\s+([\d,]+) events\/s/.exec(out);
  const latency = /latency\s+p50 ([\d.]+) ms, p95 ([\d.]+) ms, p99 ([\d.]+) ms/.exec(out);
  if (!throughput || !latency) throw new Error(`${label}: no summary in ${out}`);
  return { label, eventsPerSecond: Number(throughput[1]!.replace(/,/g, '')), p50: Number(latency[1]), p95: Number(latency[2]), p99: Number(latency[3]) };
}

function row(f: Figures): string {
  return `${f.label.padEnd(34)} ${f.eventsPerSecond.toLocaleString('en-US').padStart(10)} ev/s   p50 ${f.p50.toFixed(2).padStart(7)} ms   p95 ${f.p95.toFixed(2).padStart(7)} ms   p99 ${f.p99.toFixed(2).padStart(7)} ms`;
}

/** The lower median (the middle value; of two, the smaller). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

console.log(`embedded fraud job, ${count.toLocaleString('en-US')} events per run, ${process.env.npm_config_user_agent ?? ''}`.trim());
if (values.against !== undefined) {
  // Another commit's engine and job against this tree's, alternating, so each round's ratios are of neighbouring runs.
  const other = baseCopy(repo, values.against);
  const two: number[] = [];
  const one: number[] = [];
  for (let round = 1; round <= Number(values.rounds); round += 1) {
    const [before, threads, single] = await runInRoundOrder(round - 1, [
      () => run(`${values.against}, --workers 2`, ['--workers', '2', ...(values.extra ?? [])], {}, other),
      () => run('this tree, --parallelism 2, --workers 2', ['--parallelism', '2', '--workers', '2', ...(values.extra ?? [])]),
      () => run('this tree, --parallelism 1, --workers 2', ['--parallelism', '1', '--workers', '2', ...(values.extra ?? [])]),
    ]);
    two.push(threads.eventsPerSecond / before.eventsPerSecond);
    one.push(single.eventsPerSecond / before.eventsPerSecond);
    console.log(`${row(before)}\n${row(threads)}\n${row(single)}\n  round ${round}: parallelism 2 / ${values.against} = ${two.at(-1)!.toFixed(2)}x, parallelism 1 / ${values.against} = ${one.at(-1)!.toFixed(2)}x`);
  }
  console.log(`parallelism 2 / ${values.against}, per round: ${two.map((r) => r.toFixed(2)).join(', ')}; median ${median(two).toFixed(2)}x   (target >= 1.5x)`);
  console.log(`parallelism 1 / ${values.against}, per round: ${one.map((r) => r.toFixed(2)).join(', ')}; median ${median(one).toFixed(2)}x`);
  process.exit(0);
}
if (values.scaling !== undefined) {
  // Stream-thread scaling alone: p1 and p2 alternate, so each round's ratio is of neighbouring runs.
  const ratios: number[] = [];
  for (let round = 1; round <= Number(values.scaling); round += 1) {
    const [one, two] = await runInRoundOrder(round - 1, [
      () => run('--parallelism 1, --workers 2', ['--parallelism', '1', '--workers', '2', ...(values.extra ?? [])]),
      () => run('--parallelism 2, --workers 2', ['--parallelism', '2', '--workers', '2', ...(values.extra ?? [])]),
    ]);
    ratios.push(two.eventsPerSecond / one.eventsPerSecond);
    console.log(`${row(one)}\n${row(two)}\n  round ${round}: parallelism 2 / 1 = ${ratios.at(-1)!.toFixed(2)}x`);
  }
  console.log(`ratio parallelism 2 / 1 (2 wk), median of ${ratios.length} rounds: ${median(ratios).toFixed(2)}x   (target >= 1.5x)`);
  process.exit(0);
}
const results: Figures[] = [];
for (const [label, args] of [
  ['batched, --workers 1', ['--parallelism', '1', '--workers', '1']],
  ['batched, --workers 2', ['--parallelism', '1', '--workers', '2']],
  ['one at a time (batch=1), --workers 2', ['--parallelism', '1', '--workers', '2', '--set', 'batch=1']],
  ['--parallelism 2, --workers 2', ['--parallelism', '2', '--workers', '2']],
] as const) {
  const figures = await run(label, [...args, ...(values.extra ?? [])]);
  results.push(figures);
  console.log(row(figures));
}
const [one, two, single, threads] = results as [Figures, Figures, Figures, Figures];
console.log(`ratio workers 2 / workers 1:           ${(two.eventsPerSecond / one.eventsPerSecond).toFixed(2)}x`);
console.log(`ratio batched / one at a time (2 wk):  ${(two.eventsPerSecond / single.eventsPerSecond).toFixed(1)}x   (target >= 5x)`);
console.log(`ratio parallelism 2 / 1 (2 wk):        ${(threads.eventsPerSecond / two.eventsPerSecond).toFixed(2)}x   (target >= 1.5x)`);
console.log(`target >= 150,000 events/s embedded:   ${Math.max(one.eventsPerSecond, two.eventsPerSecond, threads.eventsPerSecond) >= 150_000 ? 'met' : 'not met'}`);
