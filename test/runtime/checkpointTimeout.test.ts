import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { finishedWithin } from '../../core/deadline.ts';
import { numberedInput } from '../kit/exactlyOnce.ts';
import { tempDir } from '../kit/files.ts';
import { killAllSluice, spawnSluice } from '../kit/sluiceProcess.ts';

// A record that never finishes (an enrich call its service never answers) holds every
// checkpoint's alignment open. The checkpoint timeout must end the wait: the job fails in one
// line naming what is still open and exits 1, for its supervisor to restart it. Child process:
// run under the heavy lock.

after(killAllSluice);

describe('a checkpoint behind a record that never finishes', () => {
  it('fails the job at --checkpoint-timeout with one line saying what is still open', async () => {
    const dir = tempDir('sluice-checkpoint-timeout-');
    const input = join(dir, 'numbered.jsonl');
    // 5 keys × 40 records, none of them bad.
    writeFileSync(input, numberedInput(5, 1, 40, Infinity).map((message) => `${message.value}\n`).join(''));
    const started = Date.now();
    const run = spawnSluice([
      'run', 'test/fixtures/jobs/stuck-call.ts', '--no-progress', '--workers', '1', '--set', 'stuckAt=5',
      '--input', `numbered=${input}`, '--output', `checked=${join(dir, 'checked.jsonl')}`,
      '--checkpoint-dir', join(dir, 'checkpoints'), '--checkpoint-interval', '200', '--checkpoint-timeout', '1500',
    ]);
    // Without the timeout the job would wait for good; give it ample time, not for ever.
    if (!(await finishedWithin(run.exited, 60_000))) {
      run.kill('SIGKILL');
      assert.fail(`still running after ${Date.now() - started} ms: ${run.stderr()}`);
    }
    assert.equal((await run.exited).code, 1, run.stderr());
    const failure = run.stderr().split('\n').filter((line) => line.startsWith('sluice: '));
    assert.equal(failure.length, 1, run.stderr());
    assert.match(failure[0]!, /a checkpoint waited 1500 ms for the records in flight to finish \(still open: [^)]*\d/);
  });
});
