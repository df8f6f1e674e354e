import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { lines, tempDir, waitForLines } from '../kit/files.ts';
import { spawnSluice } from '../kit/sluiceProcess.ts';

const featuresJob = 'test/fixtures/jobs/user-features.ts';

/** `--set` for each setting, `--output` for each output file. */
function flags(settings: string[], outputs: Record<string, string>): string[] {
  return [...settings.flatMap((s) => ['--set', s]), ...Object.entries(outputs).flatMap(([name, path]) => ['--output', `${name}=${path}`])];
}

/** Runs a job to the end with no checkpoints: the reference. */
async function uninterrupted(job: string, settings: string[], outputs: Record<string, string>): Promise<void> {
  const run = spawnSluice(['run', job, '--no-progress', '--workers', '1', ...flags(settings, outputs)]);
  assert.equal((await run.exited).code, 0, run.stderr());
}

/**
 * Runs a job with checkpoints, `kill -9`s it whenever its output reaches each of `killAt` lines,
 * restarts it, and lets the last run finish. Outputs are appended to across the runs, as a
 * Kafka topic would be (at-least-once: a replayed record may be written again).
 */
async function crashAndRecover(job: string, settings: string[], outputs: Record<string, string>, checkpoints: string, output: string, killAt: number[]): Promise<string[]> {
  const args = ['run', job, '--no-progress', '--workers', '1', '--append', '--checkpoint-dir', checkpoints, '--checkpoint-interval', '100', ...flags(settings, outputs)];
  const stderrs: string[] = [];
  for (const lineCount of killAt) {
    const run = spawnSluice(args);
    await waitForLines(output, lineCount);
    run.kill('SIGKILL');
    assert.equal((await run.exited).signal, 'SIGKILL');
    stderrs.push(run.stderr());
  }
  const last = spawnSluice(args);
  assert.equal((await last.exited).code, 0, last.stderr());
  stderrs.push(last.stderr() + last.stdout());
  return stderrs;
}

describe('checkpoint recovery after kill -9', () => {
  let dir: string;
  before(() => {
    dir = tempDir('sluice-recovery-');
  });

  it('gives every transaction the feature values of an uninterrupted run: state is not double counted', async () => {
    const reference = join(dir, 'reference.jsonl');
    await uninterrupted(featuresJob, ['count=6000'], { features: reference });
    const expected = new Map(lines(reference).map((line) => {
      const row = JSON.parse(line) as { id: string; features: number[] };
      return [row.id, JSON.stringify(row.features)];
    }));
    assert.equal(expected.size, 6000);

    const output = join(dir, 'recovered.jsonl');
    const logs = await crashAndRecover(featuresJob, ['count=6000', 'rate=4000'], { features: output }, join(dir, 'features-checkpoints'), output, [800, 2500, 4200]);
    assert.match(logs[1]!, /restored checkpoint \d+/);
    assert.match(logs[3]!, /replayed records skipped/);

    const seen = new Map<string, number>();
    for (const line of lines(output)) {
      const row = JSON.parse(line) as { id: string; features: number[] };
      assert.equal(JSON.stringify(row.features), expected.get(row.id), `features of ${row.id} differ from the uninterrupted run`);
      seen.set(row.id, (seen.get(row.id) ?? 0) + 1);
    }
    assert.equal(seen.size, 6000, 'every transaction has its features (at least once)');
  });

  it('gives the merchant windows of an uninterrupted run', async () => {
    const settings = ['count=20000', 'meanGapMs=20', 'idleTimeoutMs=600000'];
    const reference = join(dir, 'windows-reference.jsonl');
    await uninterrupted('jobs/merchant-windows.ts', settings, { windows: reference, late: join(dir, 'late-reference.jsonl') });
    const output = join(dir, 'windows-recovered.jsonl');
    await crashAndRecover('jobs/merchant-windows.ts', [...settings, 'rate=8000'], { windows: output, late: join(dir, 'late-recovered.jsonl') }, join(dir, 'window-checkpoints'), output, [300, 900]);
    // Results are upserts: the last firing of each (merchant, window) is its value.
    const finalWindows = (path: string) => {
      const windows = new Map<string, string>();
      for (const line of lines(path)) {
        const { firing: _firing, ...result } = JSON.parse(line) as Record<string, unknown>;
        windows.set(`${String(result.merchantId)} ${String(result.windowStart)}`, JSON.stringify(result));
      }
      return windows;
    };
    const expected = finalWindows(reference);
    const actual = finalWindows(output);
    assert.ok(expected.size > 100);
    assert.equal(actual.size, expected.size);
    for (const [window, result] of expected) assert.equal(actual.get(window), result, `window ${window}`);
  });

  it('falls back to the previous checkpoint when the newest is corrupt, and says so', async () => {
    const checkpoints = join(dir, 'corrupt-checkpoints');
    const output = join(dir, 'corrupt.jsonl');
    const first = spawnSluice(['run', featuresJob, '--no-progress', '--workers', '1', '--checkpoint-dir', checkpoints, '--checkpoint-interval', '50', '--set', 'count=4000', '--set', 'rate=4000', '--output', `features=${output}`]);
    await waitForLines(output, 2000);
    first.kill('SIGKILL');
    await first.exited;
    const files = readdirSync(checkpoints).filter((name) => name.endsWith('.ckpt')).sort();
    assert.ok(files.length >= 2, `expected two checkpoints, found ${files.join(', ')}`);
    const newest = join(checkpoints, files.at(-1)!);
    writeFileSync(newest, readFileSync(newest).subarray(0, 100));
    const again = spawnSluice(['run', featuresJob, '--no-progress', '--workers', '1', '--checkpoint-dir', checkpoints, '--set', 'count=4000', '--append', '--output', `features=${output}`]);
    assert.equal((await again.exited).code, 0, again.stderr());
    assert.match(again.stderr(), new RegExp(`${files.at(-1)!.replace('.', '\\.')}`));
    assert.match(again.stderr(), new RegExp(`restored checkpoint ${Number(/(\d+)/.exec(files.at(-2)!)![1])} `));
  });
});
