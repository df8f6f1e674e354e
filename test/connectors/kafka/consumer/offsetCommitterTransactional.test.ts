import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Consumer } from 'kafkajs';
import { OffsetCommitter } from '../../../../connectors/kafka/consumer/offsetCommitter.ts';
import { OffsetLedger } from '../../../../connectors/kafka/consumer/offsetLedger.ts';
import { CompletionTracker } from '../../../../core/completion.ts';
import { engineSourcePartitions } from '../../../../core/engine/sourcePartitions.ts';
import { InFlightBudget } from '../../../../core/flowControl.ts';
import { Instrumentation } from '../../../../core/instrumentation.ts';

// Exactly once: the checkpoint's transactions commit the offsets, so the consumer's committer
// sends nothing, yet still frees the room a commit frees (the ledger learns the offsets).

describe('OffsetCommitter with offsets in transactions', () => {
  it('sends no commit of its own, and records what is committable as committed', async () => {
    const budget = new InFlightBudget(4);
    const tracker = new CompletionTracker();
    const partitions = engineSourcePartitions({ budget, tracker, checkpoints: () => undefined });
    const ledger = new OffsetLedger();
    ledger.assign([{ topic: 't', partitions: [0] }]);
    const sent: unknown[] = [];
    const consumer = { commitOffsets: async (list: unknown) => void sent.push(list) };
    const committed: unknown[] = [];
    const instrumentation = new Instrumentation();
    instrumentation.on('source.commit', (commit) => committed.push(commit));
    let wakes = 0;
    const committer = new OffsetCommitter(ledger, partitions, () => consumer as unknown as Consumer, { instrumentation, log: () => {}, onCommitted: () => (wakes += 1), inTransactions: true });
    for (const offset of [0, 1, 2]) {
      assert.ok(ledger.accept('t', 0, offset));
      budget.take();
      const ticket = tracker.track({ topic: 't', partition: 0, offset });
      ledger.emitted('t', 0, offset);
      ticket.release();
      budget.give();
    }
    assert.equal(ledger.uncommitted(), 3);
    await committer.commit();
    assert.deepEqual(sent, [], 'the consumer committed offsets itself');
    assert.equal(ledger.uncommitted(), 0);
    assert.deepEqual(committed, [{ topic: 't', partition: 0, offset: 3 }]);
    assert.equal(wakes, 1);
  });
});
