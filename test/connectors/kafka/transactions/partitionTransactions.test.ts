import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { kafkaTuning } from '../../../../connectors/kafka/config.ts';
import { leftOpenFate, openTransactions } from '../../../../connectors/kafka/transactions/leftOpen.ts';
import { PartitionTransactions } from '../../../../connectors/kafka/transactions/partitionTransactions.ts';
import type { KafkaSettings } from '../../../../core/job.ts';
import { eventually } from '../../../kit/eventually.ts';
import { describeTransactions, readCommitted } from '../../../kit/exactlyOnce.ts';
import { createTestKafka, startKafka, type KafkaCluster } from '../../../kit/kafka.ts';

describe('leftOpenFate', () => {
  it('aborts what no checkpoint of its epoch committed after', () => {
    assert.equal(leftOpenFate({ producerEpoch: 3, timestamp: 1000 }, undefined), 'abort');
    assert.equal(leftOpenFate({ producerEpoch: 3, timestamp: 1000 }, { producerEpoch: 2, timestamp: 5000 }), 'abort');
    assert.equal(leftOpenFate({ producerEpoch: 3, timestamp: 1000 }, { producerEpoch: 3, timestamp: 999 }), 'abort');
  });

  it('keeps what a checkpoint of its epoch committed at or after its first record', () => {
    assert.equal(leftOpenFate({ producerEpoch: 3, timestamp: 1000 }, { producerEpoch: 3, timestamp: 1000 }), 'commit');
    assert.equal(leftOpenFate({ producerEpoch: 3, timestamp: 1000 }, { producerEpoch: 3, timestamp: 1200 }), 'commit');
  });

  it('keeps what a later owner already judged', () => {
    assert.equal(leftOpenFate({ producerEpoch: 3, timestamp: 1000 }, { producerEpoch: 4, timestamp: 10 }), 'commit');
  });
});

// Kafka 4.4 completes a transaction without writing the marker of a partition that has no leader
// (KAFKA-20734): the records stay open, and the same producer id's next commit commits them. Here
// the output partitions live on one node alone. It is killed while two transactions are open; one
// commits and the broker aborts the other at its timeout, both while the partitions have no
// leader; then that node comes back and a new owner claims the input partitions.
describe('transactions the broker left open on a partition without a leader', { timeout: 300_000 }, () => {
  let kafka: KafkaCluster;
  before(async () => {
    // The broker looks for timed-out transactions every half second instead of every 10 s.
    kafka = await startKafka({ nodes: 3, serverProperties: { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500' } });
  });
  after(async () => {
    await kafka?.stop();
  });

  it('the new owner aborts the one that never committed and keeps the one that did; read_committed readers see each output once', async (t) => {
    const admin = createTestKafka(kafka.brokers).admin();
    await admin.connect();
    const settings: KafkaSettings = { brokers: kafka.brokers, groupId: 'lo', clientId: 'left-open-test', start: 'earliest' };
    const lines: string[] = [];
    // Input 0's transaction times out 10 s after it starts, once the dead node is surely fenced.
    const oldOwners = [new PartitionTransactions({ settings, tuning: kafkaTuning(process.env, { transactionTimeoutMs: 10_000 }), log: () => {} }), new PartitionTransactions({ settings, tuning: kafkaTuning(), log: () => {} })];
    const newOwner = new PartitionTransactions({ settings, tuning: kafkaTuning(), log: (line) => lines.push(line) });
    newOwner.writesTo('lo-out');
    const inputs = [0, 1].map((partition) => ({ topic: 'lo-in', partition }));
    // kafkajs' metadata request fails outright while a partition has no leader.
    const leaders = async () => {
      try {
        return (await admin.fetchTopicMetadata({ topics: ['lo-out'] })).topics[0]!.partitions.map((p) => p.leader);
      } catch {
        return [-1];
      }
    };
    try {
      await admin.createTopics({ topics: [{ topic: 'lo-in', numPartitions: 2, replicationFactor: 3 }], waitForLeaders: true });
      await Promise.all(inputs.map((input, i) => oldOwners[i]!.claim([input])));
      // Input 1's old owner commits while the victim is dead: its group and transaction
      // coordinators must live elsewhere (a first commit creates the offsets topic).
      await oldOwners[1]!.commit([{ topic: 'lo-in', partition: 1, offset: 0, messages: [] }]);
      const coordinators = [await coordinatorOf(admin, '__consumer_offsets', 'lo'), await coordinatorOf(admin, '__transaction_state', 'lo-lo-in-1')];
      const victim = [3, 2, 1].find((node) => !coordinators.includes(node))!;
      await admin.createTopics({ topics: [{ topic: 'lo-out', replicaAssignment: [{ partition: 0, replicas: [victim] }, { partition: 1, replicas: [victim] }] }], waitForLeaders: true });
      const messages = (partition: number, prefix: string, count: number) => Array.from({ length: count }, (_, i) => ({ partition, value: `${prefix}${i}` }));
      await oldOwners[0]!.send(inputs[0]!, [{ topic: 'lo-out', messages: messages(0, 'aborted-', 5) }]);
      await oldOwners[1]!.send(inputs[1]!, [{ topic: 'lo-out', messages: messages(1, 'committed-', 4) }]);

      await kafka.kill(victim);
      await eventually('lo-out without a leader', async () => (await leaders()).every((leader) => leader === -1), { timeoutMs: 30_000 });
      // Committed while lo-out[1] has no leader: its commit marker is lost.
      await oldOwners[1]!.commit([{ topic: 'lo-in', partition: 1, offset: 3, messages: [] }]);
      // Aborted by the broker at its timeout while lo-out[0] has no leader: that marker is lost too.
      let transactions = '';
      await eventually('lo-lo-in-0 aborted at its timeout', async () => /transaction lo-lo-in-0 CompleteAbort/.test((transactions = await describeTransactions(kafka.brokers, 'lo', []))), {
        timeoutMs: 60_000,
        everyMs: 1000,
        detail: () => transactions,
      });
      await kafka.restart(victim);
      await eventually('lo-out led again', async () => (await leaders()).every((leader) => leader === victim), { timeoutMs: 60_000 });

      await newOwner.claim(inputs);
      const open = await openTransactions(admin, 'lo-out');
      assert.deepEqual(
        open.map((o) => [o.partition, o.offset]),
        [[0, '0'], [1, '0']],
        'both transactions are still open on lo-out after the restart (the broker lost their markers); if not, Kafka fixed KAFKA-20734',
      );
      // What the restored changelog would say: partition 1's checkpoint committed (epoch 0, after its
      // outputs were written), partition 0's never did.
      let started = performance.now();
      await newOwner.closeLeftOpen(inputs, (input) => (input.partition === 1 ? { producerEpoch: 0, timestamp: Date.now() } : undefined));
      const withAbort = performance.now() - started;
      assert.equal(lines.filter((line) => /lo-lo-in-0: aborted a transaction of epoch 0 that the broker had left open on lo-out\[0\] from offset 0/.test(line)).length, 1, lines.join('\n'));
      assert.equal(lines.filter((line) => /lo-lo-in-1: a committed transaction of epoch 0 is still open on lo-out\[1\] from offset 0/.test(line)).length, 1, lines.join('\n'));

      // The new owner's own work, committed: it closes partition 1's kept transaction as committed.
      await newOwner.send(inputs[0]!, [{ topic: 'lo-out', messages: messages(0, 'new-', 3) }]);
      await newOwner.send(inputs[1]!, [{ topic: 'lo-out', messages: messages(1, 'new-', 2) }]);
      await newOwner.commit(inputs.map((input) => ({ ...input, offset: 9, messages: [] })));
      const seen = (await readCommitted(kafka.brokers, 'lo-out')).map((m) => `${m.partition}:${m.value!.toString()}`).sort();
      assert.deepEqual(seen, ['0:new-0', '0:new-1', '0:new-2', '1:committed-0', '1:committed-1', '1:committed-2', '1:committed-3', '1:new-0', '1:new-1']);
      assert.deepEqual(await openTransactions(admin, 'lo-out'), []);
      // What the look costs an assignment when nothing is left open (the usual case).
      started = performance.now();
      await newOwner.closeLeftOpen(inputs, () => undefined);
      t.diagnostic(`closeLeftOpen for 2 input partitions: ${withAbort.toFixed(0)} ms with one abort, ${(performance.now() - started).toFixed(0)} ms with nothing open`);
    } finally {
      await Promise.all([...oldOwners.map((owner) => owner.close()), newOwner.close()]);
      await admin.disconnect();
    }
  });
});

/** The node leading the partition of an internal topic (5 partitions in the kit) that `key` maps to, as Kafka maps it. */
async function coordinatorOf(admin: Admin, topic: '__consumer_offsets' | '__transaction_state', key: string): Promise<number> {
  let hash = 0;
  for (const char of key) hash = (Math.imul(31, hash) + char.charCodeAt(0)) | 0;
  const partition = (hash & 0x7fffffff) % 5;
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  return metadata.topics[0]!.partitions.find((p) => p.partitionId === partition)!.leader;
}
