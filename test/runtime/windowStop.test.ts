import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { lines, tempDir, waitForLines } from '../kit/files.ts';
import { spawnSluice } from '../kit/sluiceProcess.ts';

const JOB = 'jobs/merchant-windows.ts';
// 20,000 transactions at 8,000/s: about 2.5 s of windows, none fired by idleness.
const SETTINGS = ['count=20000', 'meanGapMs=20', 'idleTimeoutMs=600000'].flatMap((s) => ['--set', s]);

/** window id → count of the window's first firing, from a windows file. */
function firstFirings(path: string): Map<string, number> {
  const windows = new Map<string, number>();
  for (const line of lines(path)) {
    const w = JSON.parse(line) as { merchantId: string; windowStart: string; firing: number; count: number };
    if (w.firing === 0) windows.set(`${w.merchantId} ${w.windowStart}`, w.count);
  }
  return windows;
}

describe('stopping a windowed job', () => {
  let dir: string;
  let reference: string[];
  before(async () => {
    dir = tempDir('sluice-window-stop-');
    const out = join(dir, 'reference.jsonl');
    const run = spawnSluice(['run', JOB, '--no-progress', ...SETTINGS, '--output', `windows=${out}`, '--output', 'late=none']);
    assert.equal((await run.exited).code, 0, run.stderr());
    reference = lines(out).sort();
    assert.ok(reference.length > 500, `the reference has windows (${reference.length})`);
  });

  it('SIGTERM at three random moments, restarting each time from the checkpoint: every window once, as in an uninterrupted run', async () => {
    const out = join(dir, 'stopped.jsonl');
    const checkpoints = join(dir, 'checkpoints');
    const args = ['run', JOB, '--no-progress', ...SETTINGS, '--set', 'rate=8000', '--checkpoint-dir', checkpoints, '--append', '--output', `windows=${out}`, '--output', 'late=none'];
    // Random moments, spread over the run; printed so a failure can be replayed.
    const moments = [0.15, 0.45, 0.75].map((share) => Math.round(reference.length * (share + Math.random() * 0.1)));
    for (const moment of moments) {
      const run = spawnSluice(args);
      await waitForLines(out, moment);
      run.kill('SIGTERM');
      assert.equal((await run.exited).code, 0, `stop at ${moment} windows: ${run.stderr()}`);
    }
    const last = spawnSluice(args);
    assert.equal((await last.exited).code, 0, last.stderr());
    // Exactly the reference lines: no window fired early by a stop, none twice, none missing.
    assert.deepEqual(lines(out).sort(), reference, `stops at ${moments.join(', ')} windows`);
  });

  it('SIGTERM with --drain fires the open windows at the stop instead of keeping them', async () => {
    const out = join(dir, 'drained.jsonl');
    const run = spawnSluice(['run', JOB, '--no-progress', ...SETTINGS, '--set', 'rate=8000', '--drain', '--output', `windows=${out}`, '--output', 'late=none']);
    await waitForLines(out, Math.round(reference.length * 0.4));
    run.kill('SIGTERM');
    assert.equal((await run.exited).code, 0, run.stderr());
    // Windows still open at the stop were fired with what they had: smaller than in the
    // uninterrupted run (which fired them complete, later).
    const expected = firstFirings(join(dir, 'reference.jsonl'));
    const partial = [...firstFirings(out)].filter(([window, count]) => count < (expected.get(window) ?? Infinity));
    assert.ok(partial.length > 0, 'the drain fired open windows early');
  });
});
