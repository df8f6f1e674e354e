/**
 * Checkpoint benchmark: duration and size of a checkpoint of 100,000 keys (the fraud job's user
 * histories), restore time, and the throughput cost of checkpointing the embedded fraud job every
 * second, at least once and exactly once (output files published at each checkpoint), on one
 * stream thread and on two. Figures, not a test.
 *
 *   npm run bench:checkpoint
 *   npm run bench:checkpoint -- --keys 100000 --count 1000000 --rounds 3
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { captureCheckpoint, restoreCheckpoint } from '../core/checkpoint/capture.ts';
import { FileCheckpointStore } from '../core/checkpoint/fileCheckpointStore.ts';
import { MemoryStateBackend } from '../core/state/backend.ts';
import { hashPartition } from '../connectors/generatorSource.ts';
import { computeFeatures, emptyHistory, updateHistory, type UserHistory } from '../jobs/fraud/features.ts';
import { TransactionGenerator } from '../jobs/fraud/transactions.ts';

const { values } = parseArgs({ options: { keys: { type: 'string', default: '100000' }, count: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '1' } } });
const keys = Number(values.keys);
const count = Number(values.count);
const rounds = Number(values.rounds);

// 1. A state of `keys` user histories, 4 partitions, as the fraud job keeps it.
const backend = new MemoryStateBackend();
const generator = new TransactionGenerator({ seed: 3, users: keys });
const histories = new Map<string, UserHistory>();
for (let i = 0; i < keys * 4; i += 1) {
  const tx = generator.next();
  const history = histories.get(tx.userId) ?? emptyHistory();
  computeFeatures(tx, history);
  histories.set(tx.userId, updateHistory(history, tx));
}
for (const [user, history] of histories) backend.put(`transactions/${hashPartition(user, 4)}`, 'user-history', user, { value: history, expiresAt: Date.now() + 3600_000 });

const directory = mkdtempSync(join(tmpdir(), 'sluice-bench-checkpoint-'));
const store = new FileCheckpointStore({ directory, keep: 2 });
const positions = [0, 1, 2, 3].map((partition) => ({ topic: 'transactions', partition, offset: 1_000_000 }));
const t0 = performance.now();
const input = captureCheckpoint(positions, { state: backend });
const t1 = performance.now();
await store.save(input);
const t2 = performance.now();
const file = readdirSync(directory).find((name) => name.endsWith('.ckpt'))!;
const bytes = statSync(join(directory, file)).size;
const t3 = performance.now();
const latest = await store.latest();
const t4 = performance.now();
restoreCheckpoint(latest!, { state: new MemoryStateBackend() });
const t5 = performance.now();
rmSync(directory, { recursive: true, force: true });

console.log(`checkpoint of ${histories.size.toLocaleString('en-US')} keys (user histories, ${keys * 4} transactions):`);
console.log(`  capture (copy of state)     ${(t1 - t0).toFixed(0)} ms   (the job is paused for this part)`);
console.log(`  write (encode, fsync, rename) ${(t2 - t1).toFixed(0)} ms   (the source runs again; JSON encoding still takes the job's thread)`);
console.log(`  size                        ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
console.log(`  restore: read + verify      ${(t4 - t3).toFixed(0)} ms, into state ${(t5 - t4).toFixed(0)} ms`);

// 2. The embedded fraud job without checkpoints, with one every second, and exactly once (its
// output file published at each checkpoint), on one stream thread and on two; rounds alternate.
const repo = fileURLToPath(new URL('../', import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));
const rows = [
  { label: 'p1, no checkpoints', args: ['--parallelism', '1'] },
  { label: 'p1, checkpoint every 1 s', args: ['--parallelism', '1', '--checkpoint-interval', '1000'] },
  { label: 'p1, exactly once', args: ['--parallelism', '1', '--checkpoint-interval', '1000', '--guarantee', 'exactly-once'] },
  { label: 'p2, checkpoint every 1 s', args: ['--parallelism', '2', '--checkpoint-interval', '1000'] },
  { label: 'p2, exactly once', args: ['--parallelism', '2', '--checkpoint-interval', '1000', '--guarantee', 'exactly-once'] },
] as const;
type Row = (typeof rows)[number]['label'];

async function throughput(args: readonly string[]): Promise<{ eventsPerSecond: number; checkpoints: string }> {
  const directory = mkdtempSync(join(tmpdir(), 'sluice-bench-job-'));
  const checkpointed = args.includes('--checkpoint-interval') ? ['--checkpoint-dir', join(directory, 'checkpoints')] : [];
  const output = join(directory, 'decisions.jsonl');
  const child = spawn(process.execPath, ['--import', tsx, 'runtime/cli.ts', 'run', 'jobs/fraud-detection.ts', '--no-progress', '--workers', '2', '--set', `count=${count}`, '--output', `decisions=${output}`, ...checkpointed, ...args], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The summary is on stderr (stdout is the job's records).
  let out = '';
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  const written = readFileSync(output, 'utf8').split('\n').length - 1;
  rmSync(directory, { recursive: true, force: true });
  const match = /throughput\s+([\d,]+) events\/s/.exec(out);
  if (code !== 0 || !match) throw new Error(`${args.join(' ')}: exited ${code}: ${out.trim().split('\n').at(-1)}`);
  if (written !== count) throw new Error(`${args.join(' ')}: ${written} decisions written of ${count}`);
  return { eventsPerSecond: Number(match[1]!.replace(/,/g, '')), checkpoints: /checkpoints\s+([\d,]+) taken/.exec(out)?.[1] ?? '0' };
}

const results = new Map<Row, number[]>(rows.map((row) => [row.label, []]));
console.log(`embedded fraud job, ${count.toLocaleString('en-US')} events, 2 inference workers, output to a file, ${rounds} round(s) alternating:`);
for (let round = 1; round <= rounds; round += 1) {
  for (const row of rows) {
    const { eventsPerSecond, checkpoints } = await throughput(row.args);
    results.get(row.label)!.push(eventsPerSecond);
    console.log(`  round ${round}  ${row.label.padEnd(26)} ${eventsPerSecond.toLocaleString('en-US').padStart(8)} events/s (${checkpoints} checkpoints)`);
  }
}
const ratios = (a: Row, b: Row) => results.get(a)!.map((rate, i) => `${(rate / results.get(b)![i]!).toFixed(2)} ×`).join(', ');
console.log('ratios per round:');
console.log(`  checkpoint every 1 s / none, p1        ${ratios('p1, checkpoint every 1 s', 'p1, no checkpoints')}`);
console.log(`  exactly once / checkpoints, p1         ${ratios('p1, exactly once', 'p1, checkpoint every 1 s')}`);
console.log(`  exactly once / checkpoints, p2         ${ratios('p2, exactly once', 'p2, checkpoint every 1 s')}`);
console.log(`  exactly once, p2 / p1                  ${ratios('p2, exactly once', 'p1, exactly once')}`);
