import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { kafkaChangelogStore } from '../../../../connectors/kafka/changelog/changelogStore.ts';
import { exactlyOnceChangelogStore } from '../../../../connectors/kafka/changelog/exactlyOnceChangelogStore.ts';
import { kafkaTuning } from '../../../../connectors/kafka/config.ts';
import { PartitionTransactions } from '../../../../connectors/kafka/transactions/partitionTransactions.ts';
import type { KafkaSettings } from '../../../../core/job.ts';
import { createTestKafka, createTopics, produceMessages, sharedKafka, TEST_CONSUMER_TIMINGS, type KafkaCluster } from '../../../kit/kafka.ts';

const tuning = {
  sessionTimeoutMs: TEST_CONSUMER_TIMINGS.sessionTimeout,
  heartbeatIntervalMs: TEST_CONSUMER_TIMINGS.heartbeatInterval,
  rebalanceTimeoutMs: TEST_CONSUMER_TIMINGS.rebalanceTimeout,
  maxWaitMs: TEST_CONSUMER_TIMINGS.maxWaitTimeInMs,
};

describe('Kafka changelog store', () => {
  let kafka: KafkaCluster;
  let settings: KafkaSettings;
  before(async () => {
    // One broker per test file (process), so these names meet no other file's topics.
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [
      { name: 'input', partitions: 4 },
      { name: 'state', partitions: 4, config: { 'cleanup.policy': 'compact' } },
      { name: 'wide', partitions: 8 },
      { name: 'narrow', partitions: 4, config: { 'cleanup.policy': 'compact' } },
      { name: 'big-input', partitions: 4 },
      { name: 'big-state', partitions: 4, config: { 'cleanup.policy': 'compact' } },
      { name: 'eos-state', partitions: 4, config: { 'cleanup.policy': 'compact' } },
    ]);
    settings = { brokers: kafka.brokers, groupId: 'changelog-test', clientId: 'changelog-test', start: 'earliest' };
  });

  it('restores the newest complete state of a partition and ignores a checkpoint cut short', async () => {
    const store = kafkaChangelogStore({ settings, topic: 'state', tuning });
    await store.save([
      { topic: 'input', partition: 1, offset: 10, full: true, state: [['count', 'a', { value: 1 }], ['count', 'b', { value: 5, expiresAt: 99 }]], operators: { windows: { v: 1 } } },
      { topic: 'input', partition: 2, offset: 7, full: true, state: [['count', 'z', { value: 3 }]], operators: {} },
    ]);
    // A delta: a changes, b is deleted.
    await store.save([{ topic: 'input', partition: 1, offset: 20, full: false, state: [['count', 'a', { value: 2 }], ['count', 'b', undefined]], operators: { windows: { v: 2 } } }]);
    await store.close?.();
    // A checkpoint cut short by a crash: its records are there, its commit marker is not.
    await produceMessages(kafka.brokers, 'state', [{ key: 'input\u0000s\u0000count\u0000a', value: JSON.stringify({ v: 999 }), partition: 1 }]);

    const restored = await kafkaChangelogStore({ settings, topic: 'state', tuning }).load([
      { topic: 'input', partition: 1 },
      { topic: 'input', partition: 2 },
      { topic: 'input', partition: 3 },
    ]);
    const byPartition = new Map(restored.map((p) => [p.partition, p]));
    assert.deepEqual([...byPartition.keys()].sort(), [1, 2], 'a partition never saved is left out');
    assert.equal(byPartition.get(1)!.offset, 20);
    assert.deepEqual(byPartition.get(1)!.state, [['count', 'a', { value: 2 }]]);
    assert.deepEqual(byPartition.get(1)!.operators, { windows: { v: 2 } });
    assert.deepEqual(byPartition.get(2)!.state, [['count', 'z', { value: 3 }]]);
  });

  it('writes and restores a partition state of several megabytes (cut into requests the broker takes)', async () => {
    // One changelog partition gets the whole state, one record batch per request: over the
    // broker's 1 MB message.max.bytes unless the write is cut.
    const big = 'x'.repeat(500);
    const state: Array<[string, string, { value: string }]> = Array.from({ length: 6000 }, (_, i) => ['profile', `user-${i}`, { value: `${i}:${big}` }]);
    const store = kafkaChangelogStore({ settings, topic: 'big-state', tuning });
    await store.save([{ topic: 'big-input', partition: 3, offset: 12_345, full: true, state, operators: {} }]);
    await store.close?.();
    const [restored] = await kafkaChangelogStore({ settings, topic: 'big-state', tuning }).load([{ topic: 'big-input', partition: 3 }]);
    assert.equal(restored?.offset, 12_345);
    assert.equal(restored.state.length, 6000);
    const values = new Map(restored.state.map(([, key, entry]) => [key, entry?.value]));
    assert.equal(values.get('user-0'), `0:${big}`);
    assert.equal(values.get('user-5999'), `5999:${big}`);
  });

  it('refuses a changelog with fewer partitions than the input, saying what to do', async () => {
    const store = kafkaChangelogStore({ settings, topic: 'narrow', tuning });
    await assert.rejects(store.load([{ topic: 'wide', partition: 5 }]), {
      message: 'the changelog topic narrow has 4 partitions but wide has 8: recreate it with 8 partitions (cleanup.policy=compact)',
    });
  });

  // Known product race (reported): on KRaft the store's first use can fail right after it created
  // the topic, with "This server does not host this topic-partition" (wrapped as "could not find
  // or create the changelog topic") or NOT_LEADER from ListOffsets: neither is retried.
  it('creates a missing changelog topic on first use: compacted, with the input topic\'s partition count', async () => {
    const store = kafkaChangelogStore({ settings, topic: 'created-on-use', tuning });
    assert.deepEqual(await store.load([{ topic: 'wide', partition: 0 }]), []);
    await store.close?.();
    const admin = createTestKafka(kafka.brokers).admin();
    await admin.connect();
    try {
      const [topic] = (await admin.fetchTopicMetadata({ topics: ['created-on-use'] })).topics;
      assert.equal(topic?.partitions.length, 8);
      const { resources } = await admin.describeConfigs({ resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: 'created-on-use', configNames: ['cleanup.policy'] }], includeSynonyms: false });
      assert.equal(resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue, 'compact');
    } finally {
      await admin.disconnect();
    }
  });

  it('restores which transactional write committed the last checkpoint: its producer epoch and time', async () => {
    // What exactly-once judges a transaction the broker left open by (leftOpenFate): a wrong
    // epoch or time here would keep aborted outputs or abort committed ones.
    const input = { topic: 'input', partition: 3 };
    const commitAs = async (checkpointOffset: number) => {
      const transactions = new PartitionTransactions({ settings: { ...settings, groupId: 'eos-restore' }, tuning: kafkaTuning(), log: () => {} });
      const store = exactlyOnceChangelogStore({ restore: kafkaChangelogStore({ settings, topic: 'eos-state', tuning }), topic: 'eos-state', transactions });
      try {
        const restored = await store.load([input]);
        const before = Date.now();
        await store.save([{ ...input, offset: checkpointOffset, full: true, state: [['count', 'k', { value: checkpointOffset }]], operators: {} }]);
        return { restored: restored[0], before, after: Date.now() };
      } finally {
        await store.close?.();
      }
    };
    const first = await commitAs(10);
    assert.equal(first.restored, undefined, 'nothing committed before');
    // A second owner claims the id (a new epoch), restores the first owner's checkpoint, commits its own.
    const second = await commitAs(20);
    assert.equal(second.restored?.offset, 10);
    assert.equal(second.restored?.committedBy?.producerEpoch, 0);
    assert.ok(second.restored!.committedBy!.timestamp >= first.before && second.restored!.committedBy!.timestamp <= first.after, 'the first commit record was written during the first save');
    const [third] = await kafkaChangelogStore({ settings, topic: 'eos-state', tuning }).load([input]);
    assert.equal(third?.offset, 20);
    assert.equal(third?.committedBy?.producerEpoch, 1, 'the second owner wrote with the epoch its claim bumped');
    assert.ok(third!.committedBy!.timestamp >= second.before && third!.committedBy!.timestamp <= second.after);
  });
});
