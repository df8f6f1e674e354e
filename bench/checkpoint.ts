/**
 * Checkpoint benchmark: duration and size of a checkpoint of 100,000 keys (the fraud job's user
 * histories), restore time, and the throughput cost of checkpointing the embedded fraud job every
 * second. Figures, not a test.
 *
 *   npm run bench:checkpoint
 *   npm run bench:checkpoint -- --keys 100000 --count 1000000
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
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

const { values } = parseArgs({ options: { keys: { type: 'string', default: '100000' }, count: { type: 'string', default: '1000000' } } });
const keys = Number(values.keys);
const count = Number(values.count);

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

// 2. The embedded fraud job with and without a checkpoint every second.
const repo = fileURLToPath(new URL('../', import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));
async function throughput(extra: string[]): Promise<{ eventsPerSecond: number; checkpoints: string }> {
  const child = spawn(process.execPath, ['--import', tsx, 'runtime/cli.ts', 'run', 'jobs/fraud-detection.ts', '--no-progress', '--workers', '1', '--set', `count=${count}`, '--output', 'decisions=none', ...extra], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.on('exit', resolve));
  const match = /throughput\s+([\d,]+) events\/s/.exec(out);
  if (!match) throw new Error(`no summary: ${out}`);
  return { eventsPerSecond: Number(match[1]!.replace(/,/g, '')), checkpoints: /checkpoints\s+([\d,]+) taken/.exec(out)?.[1] ?? '0' };
}
const jobDirectory = mkdtempSync(join(tmpdir(), 'sluice-bench-job-'));
const plain = await throughput([]);
const checkpointed = await throughput(['--checkpoint-dir', jobDirectory, '--checkpoint-interval', '1000']);
rmSync(jobDirectory, { recursive: true, force: true });
console.log(`embedded fraud job, ${count.toLocaleString('en-US')} events, 1 worker:`);
console.log(`  no checkpoints              ${plain.eventsPerSecond.toLocaleString('en-US')} events/s`);
console.log(`  checkpoint every 1 s        ${checkpointed.eventsPerSecond.toLocaleString('en-US')} events/s (${checkpointed.checkpoints} checkpoints)`);
console.log(`  cost                        ${((1 - checkpointed.eventsPerSecond / plain.eventsPerSecond) * 100).toFixed(1)} %`);
