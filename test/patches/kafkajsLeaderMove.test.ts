import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

// kafkajs as patched (patches/kafkajs+2.2.4.patch): a send whose partition leader dies mid-send
// writes that partition's messages to the new leader. Upstream kept one response per broker and
// on the retry skipped every broker that had already answered, so when the dead leader's
// partitions moved to such a broker their messages were never sent again, and the send resolved
// as if they had been written (found as 69 of 20,000 outputs missing after a broker of three was
// killed under an at-least-once job).

const require = createRequire(import.meta.url);
const createSendMessages = require('kafkajs/src/producer/sendMessages') as (options: object) => (input: object) => Promise<{ topicName: string; partition: number }[]>;
const createRetry = require('kafkajs/src/retry') as (options: object) => unknown;
const { KafkaJSConnectionError } = require('kafkajs/src/errors') as { KafkaJSConnectionError: new (message: string) => Error };

interface ProduceInput {
  topicData: { topic: string; partitions: { partition: number; messages: { value: string }[] }[] }[];
}

/** Two brokers: node 2 leads partition 0 until it dies during the first send; node 1 leads partition 1 and then both. */
function cluster() {
  const leaders = new Map([[0, 2], [1, 1]]);
  const written = new Map<number, string[]>();
  let node2Alive = true;
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({ topicData }: ProduceInput) {
      if (nodeId === 2 && node2Alive) {
        node2Alive = false;
        leaders.set(0, 1); // the controller moves the leadership to node 1
        throw new KafkaJSConnectionError('Connection error: read ECONNRESET');
      }
      const partitions = topicData[0]!.partitions.map(({ partition, messages }) => {
        written.set(partition, [...(written.get(partition) ?? []), ...messages.map((m) => m.value)]);
        return { partition, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' };
      });
      return { topics: [{ topicName: 'out', partitions }], throttleTime: 0 };
    },
  });
  const brokers = new Map([[1, broker(1)], [2, broker(2)]]);
  const noop = () => {};
  const logger = { debug: noop, info: noop, warn: noop, error: noop, namespace: () => logger };
  const fake = {
    refreshMetadataIfNecessary: async () => {},
    refreshMetadata: async () => {},
    addMultipleTargetTopics: async () => {},
    isConnected: () => true,
    removeBroker: noop,
    findTopicPartitionMetadata: () => [0, 1].map((partitionId) => ({ partitionId, leader: leaders.get(partitionId) })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const byLeader: Record<string, number[]> = {};
      for (const p of partitions) (byLeader[String(leaders.get(Number(p)))] ??= []).push(Number(p));
      return byLeader;
    },
    findBroker: async ({ nodeId }: { nodeId: string | number }) => brokers.get(Number(nodeId)),
  };
  const eosManager = {
    isTransactional: () => false,
    acquireBrokerLock: async () => {},
    releaseBrokerLock: async () => {},
    getSequence: () => 0,
    updateSequence: noop,
    getProducerId: () => -1,
    getProducerEpoch: () => 0,
    getTransactionalId: () => undefined,
  };
  const send = createSendMessages({ logger, cluster: fake, partitioner: ({ message }: { message: { partition: number } }) => message.partition, eosManager, retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 }) });
  return { send, written };
}

describe('kafkajs send across a leader change (patched)', () => {
  it("writes the dead leader's partitions to the new leader, even when it already answered for others", async () => {
    const { send, written } = cluster();
    const messages = [0, 1, 0, 1].map((partition, i) => ({ partition, value: `m${i}` }));
    const result = await send({ acks: -1, timeout: 30_000, topicMessages: [{ topic: 'out', messages }] });
    assert.deepEqual(written.get(0), ['m0', 'm2'], "partition 0's messages were never written");
    assert.deepEqual(written.get(1), ['m1', 'm3'], 'partition 1 was written once');
    assert.deepEqual(result.map((r) => r.partition).sort(), [0, 1]);
  });
});
