import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { kafkaChangelogStore } from '../../../connectors/kafka/changelogStore.ts';
import type { KafkaSettings } from '../../../core/job.ts';
import { produceMessages, startMockKafka, type MockKafka } from '../../kit/kafka.ts';

const tuning = { sessionTimeoutMs: 3500, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 3500, maxWaitMs: 50 };

describe('Kafka changelog store', () => {
  let kafka: MockKafka;
  let settings: KafkaSettings;
  before(async () => {
    kafka = await startMockKafka({ topics: [{ name: 'input', partitions: 4 }, { name: 'state', partitions: 4 }, { name: 'wide', partitions: 8 }, { name: 'narrow', partitions: 4 }] });
    settings = { brokers: kafka.brokers, groupId: 'changelog-test', clientId: 'changelog-test', start: 'earliest' };
  });
  after(async () => {
    await kafka?.stop();
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

  it('refuses a changelog with fewer partitions than the input, saying what to do', async () => {
    const store = kafkaChangelogStore({ settings, topic: 'narrow', tuning });
    await assert.rejects(store.load([{ topic: 'wide', partition: 5 }]), {
      message: 'the changelog topic narrow has 4 partitions but wide has 8: recreate it with 8 partitions (cleanup.policy=compact)',
    });
  });
});
