import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../kit/files.ts';
import { claimCheckpointDirectory } from '../../../runtime/threads/checkpointFolders.ts';

describe('--checkpoint-dir remembers the --parallelism its checkpoints were taken with', () => {
  it('records the thread count and accepts the same count again', () => {
    const dir = join(tempDir('sluice-ckpt-'), 'c');
    claimCheckpointDirectory(dir, 2);
    assert.equal(readFileSync(join(dir, 'parallelism'), 'utf8').trim(), '2');
    claimCheckpointDirectory(dir, 2);
  });

  it('refuses another count with what to do', () => {
    const dir = tempDir('sluice-ckpt-');
    claimCheckpointDirectory(dir, 2);
    assert.throws(() => claimCheckpointDirectory(dir, 1), /holds checkpoints of --parallelism 2: run with --parallelism 2, or start afresh with a new --checkpoint-dir/);
    assert.throws(() => claimCheckpointDirectory(dir, 3), /--parallelism 2/);
  });

  it('takes checkpoints at the top of the directory for a single thread\'s', () => {
    const dir = tempDir('sluice-ckpt-');
    writeFileSync(join(dir, 'checkpoint-000000000001.ckpt'), '');
    claimCheckpointDirectory(dir, 1);
    assert.throws(() => claimCheckpointDirectory(dir, 2), /holds checkpoints of --parallelism 1/);
  });
});
