import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lines } from '../../kit/files.ts';
import { killAllSluice, spawnSluice } from '../../kit/sluiceProcess.ts';

// Embedded runs (generator, JSONL file) at --parallelism 2: the same results as one thread, each
// key's in its order, and what a failing thread does. Child processes: run under the heavy lock.

const CRASH_JOB = 'test/fixtures/jobs/key-counter-crash.ts';
const KEYS = 30;
const PER_KEY = 40;

async function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawnSluice(['run', ...args, '--no-progress', '--workers', '1']);
  const { code } = await child.exited;
  return { code, stderr: child.stderr() };
}

/** Each key's values of `field`, in file order. */
function byKey(rows: readonly Record<string, unknown>[], key: string, field: string): Map<string, unknown[]> {
  const map = new Map<string, unknown[]>();
  for (const row of rows) {
    const list = map.get(String(row[key])) ?? [];
    list.push(row[field]);
    map.set(String(row[key]), list);
  }
  return map;
}

const parse = (path: string) => lines(path).map((line) => JSON.parse(line) as Record<string, unknown>);

/** A key-counter input: KEYS keys interleaved, each numbered 1..PER_KEY, and `garbage` undecodable lines. */
function numberedFile(path: string, garbage: number): void {
  const out: string[] = [];
  for (let seq = 1; seq <= PER_KEY; seq += 1) {
    for (let k = 0; k < KEYS; k += 1) out.push(JSON.stringify({ key: `k${k}`, seq }));
    if (seq <= garbage) out.push(`{not json ${seq}`);
  }
  writeFileSync(path, out.join('\n') + '\n');
}

/** Fails on a count that is not its seq (state lost or doubled) or a key whose first results are out of order. */
function checkCounted(rows: readonly Record<string, unknown>[]): Set<string> {
  const seen = new Set<string>();
  const next = new Map<string, number>();
  for (const { key, seq, count } of rows as Array<{ key: string; seq: number; count: number }>) {
    assert.equal(count, seq, `${key} #${seq} counted as ${count}`);
    if (seen.has(`${key}#${seq}`)) continue;
    // First appearances of a key's results come in the order of its input.
    assert.equal(seq, next.get(key) ?? 1, `${key}: #${seq} came before #${next.get(key) ?? 1}`);
    next.set(key, seq + 1);
    seen.add(`${key}#${seq}`);
  }
  return seen;
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-threads-'));
after(async () => {
  await killAllSluice();
  rmSync(dir, { recursive: true, force: true });
});

describe('the fraud job (generator source) at --parallelism 2 and 1', () => {
  const one = join(dir, 'one.jsonl');
  const two = join(dir, 'two.jsonl');
  let twoThreads: { code: number | null; stderr: string };

  before(async () => {
    const args = ['jobs/fraud-detection.ts', '--set', 'count=20000'];
    assert.equal((await run([...args, '--parallelism', '1', '--output', `decisions=${one}`])).code, 0);
    twoThreads = await run([...args, '--parallelism', '2', '--output', `decisions=${two}`]);
    assert.equal(twoThreads.code, 0, twoThreads.stderr);
  });

  it('writes the same decisions, as a multiset', () => {
    const a = lines(one).sort();
    const b = lines(two).sort();
    assert.equal(a.length, 20_000);
    assert.deepEqual(b, a);
  });

  it("keeps each user's decisions in the order of one thread", () => {
    const a = byKey(parse(one), 'userId', 'transactionId');
    const b = byKey(parse(two), 'userId', 'transactionId');
    assert.equal(b.size, a.size);
    for (const [user, ids] of a) assert.deepEqual(b.get(user), ids, `user ${user}`);
  });

  it('says so in one summary', () => {
    assert.match(twoThreads.stderr, /20,000 in, 20,000 out/);
    assert.match(twoThreads.stderr, /threads +2 stream threads, 0 restarted/);
    assert.equal(twoThreads.stderr.match(/job fraud-detection finished/g)?.length, 1);
    // The engine's own histograms, added up by the main thread.
    const p99 = Number(/latency +p50 [\d.]+ ms, p95 [\d.]+ ms, p99 ([\d.]+) ms/.exec(twoThreads.stderr)?.[1]);
    assert.ok(p99 > 0, `no latency in the summary: ${twoThreads.stderr}`);
  });
});

describe("Node's own flags on the job's process", () => {
  // At 2 the stream threads start under them (and each thread's inference workers); at 1 the
  // main thread's inference workers do.
  for (const parallelism of [2, 1]) {
    it(`runs with V8 flags that worker threads refuse (they hold process-wide), --parallelism ${parallelism}`, async () => {
      const output = join(dir, `v8-flags-${parallelism}.jsonl`);
      const child = spawnSluice(['run', 'jobs/fraud-detection.ts', '--set', 'count=2000', '--parallelism', String(parallelism), '--workers', '1', '--no-progress', '--output', `decisions=${output}`], {
        nodeArgs: ['--max-old-space-size=2048', '--max-semi-space-size=32', '--enable-source-maps'],
      });
      const { code } = await child.exited;
      assert.equal(code, 0, child.stderr());
      assert.match(child.stderr(), /2,000 in, 2,000 out/);
      assert.equal(lines(output).length, 2000);
    });
  }
});

describe('a JSONL file with bad lines at --parallelism 2', () => {
  it('counts each key in one thread, in order, and dead-letters each bad line once', async () => {
    const input = join(dir, 'numbered.jsonl');
    const output = join(dir, 'counted.jsonl');
    numberedFile(input, 10);
    const result = await run([CRASH_JOB, '--parallelism', '2', '--input', `numbered=${input}`, '--output', `counted=${output}`]);
    assert.equal(result.code, 0, result.stderr);
    const rows = parse(output);
    assert.equal(rows.length, KEYS * PER_KEY);
    assert.equal(checkCounted(rows).size, KEYS * PER_KEY);
    assert.equal(lines('.sluice/key-counter-crash/dead-letters.jsonl').length, 10);
    assert.match(result.stderr, /1,210 in|1,200 in/);
  });
});

describe('a stream thread that throws, embedded', () => {
  it('without checkpoints fails the job with one line saying why (its share cannot resume)', async () => {
    const input = join(dir, 'numbered-fail.jsonl');
    numberedFile(input, 0);
    const result = await run([CRASH_JOB, '--parallelism', '2', '--input', `numbered=${input}`, '--output', `counted=${join(dir, 'fail.jsonl')}`, '--set', 'crashAt=20', '--set', `marker=${join(dir, 'fired-1')}`]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /sluice: stream thread [12] of 2 failed \(an embedded run without --checkpoint-dir cannot resume a thread's share, so the job stops\): uncaught (Error: )?planted fault at k0 #20/);
  });

  it('with --checkpoint-dir is restarted from its checkpoint, and no result is missing or miscounted', async () => {
    const input = join(dir, 'numbered-restart.jsonl');
    const output = join(dir, 'restart.jsonl');
    numberedFile(input, 0);
    const result = await run([
      CRASH_JOB, '--parallelism', '2', '--input', `numbered=${input}`, '--output', `counted=${output}`,
      '--checkpoint-dir', join(dir, 'checkpoints'), '--checkpoint-interval', '20', '--set', 'crashAt=20', '--set', `marker=${join(dir, 'fired-2')}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /stream thread [12] of 2 failed: uncaught (Error: )?planted fault at k0 #20 — restarting it/);
    assert.match(result.stderr, /threads +2 stream threads, 1 restarted/);
    assert.equal(checkCounted(parse(output)).size, KEYS * PER_KEY);
  });

  it('with --guarantee exactly-once is restarted, and the shared output file holds each result once', async () => {
    const input = join(dir, 'numbered-eos.jsonl');
    const output = join(dir, 'restart-eos.jsonl');
    numberedFile(input, 0);
    const result = await run([
      CRASH_JOB, '--parallelism', '2', '--input', `numbered=${input}`, '--output', `counted=${output}`, '--guarantee', 'exactly-once',
      '--checkpoint-dir', join(dir, 'checkpoints-eos'), '--checkpoint-interval', '20', '--max-in-flight', '8', '--set', 'crashAt=20', '--set', `marker=${join(dir, 'fired-3')}`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /stream thread [12] of 2 failed: uncaught (Error: )?planted fault at k0 #20 — restarting it/);
    const rows = parse(output);
    assert.equal(checkCounted(rows).size, KEYS * PER_KEY);
    assert.equal(rows.length, KEYS * PER_KEY, 'a result of the records read again was published twice');
  });
});
