import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FilePublisher, pendingPath } from '../../../connectors/filePublisher.ts';
import { answerPublish, PublishThroughMain } from '../../../runtime/threads/publishThroughMain.ts';
import type { ToThread } from '../../../runtime/threads/protocol.ts';
import { tempDir } from '../../kit/files.ts';

/** A thread's publisher wired to the main thread's side as the supervisor wires them, through structured clones. */
function wired(publisher: FilePublisher | undefined): PublishThroughMain {
  const thread: PublishThroughMain = new PublishThroughMain((message) => {
    if (message.type !== 'publish') return;
    answerPublish(publisher, structuredClone(message), (answer: ToThread) => {
      if (answer.type === 'published') setImmediate(() => thread.answer(structuredClone(answer)));
    });
  });
  return thread;
}

describe("a stream thread's publish requests, carried out by the main thread", () => {
  it('publishes the pending file and answers', async () => {
    const dir = tempDir('sluice-publish-');
    const path = join(dir, 'out.jsonl');
    writeFileSync(pendingPath(path, 1, 0), '1\n');
    await wired(new FilePublisher({ directory: join(dir, 'checkpoints') })).run({ op: 'publish', path, writer: 1, epoch: 0 });
    assert.equal(readFileSync(path, 'utf8'), '1\n');
  });

  it("rejects the thread's request with the main thread's error, rather than leaving it waiting", async () => {
    const dir = tempDir('sluice-publish-');
    const path = join(dir, 'out.jsonl');
    writeFileSync(pendingPath(path, 0, 0), '1\n');
    // The publish log's folder cannot be made: a file stands where it would go.
    writeFileSync(join(dir, 'not-a-folder'), '');
    const failing = wired(new FilePublisher({ directory: join(dir, 'not-a-folder') }));
    await assert.rejects(failing.run({ op: 'publish', path, writer: 0, epoch: 0 }), /ENOTDIR|EEXIST/);
    await assert.rejects(wired(undefined).run({ op: 'recover', path, writer: 0, epoch: undefined }), /no exactly-once output files/);
  });
});
