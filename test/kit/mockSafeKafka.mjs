// Preloaded into `sluice` child processes of Kafka scenario tests (`node --import tsx --import
// ./test/kit/mockSafeKafka.mjs ...`; plain JavaScript because worker threads inherit the flag and
// load it before tsx is ready there). Every kafkajs consumer created without its own
// `partitionAssigners` gets `mockSafeAssigner` (see test/kit/kafka.ts), which librdkafka's mock
// cluster needs. Only the mock needs it, so it stays in test/ and production code never sees it.
import kafkajs from 'kafkajs';

/** How long the group leader waits before computing its assignment. */
export const LEADER_SYNC_DELAY_MS = 200;

/**
 * kafkajs' round-robin assigner, except that the group leader waits before assigning: the mock
 * completes a rebalance as soon as the leader's SyncGroup arrives and answers a later
 * follower's SyncGroup with INVALID_REQUEST, which kafkajs treats as fatal.
 * @type {import('kafkajs').PartitionAssigner}
 */
export const mockSafeAssigner = (config) => {
  const inner = kafkajs.PartitionAssigners.roundRobin(config);
  return {
    name: inner.name,
    version: inner.version,
    protocol: (subscription) => inner.protocol(subscription),
    assign: async (group) => {
      await new Promise((resolve) => setTimeout(resolve, LEADER_SYNC_DELAY_MS));
      return inner.assign(group);
    },
  };
};

const consumer = kafkajs.Kafka.prototype.consumer;
kafkajs.Kafka.prototype.consumer = function consumerWithMockSafeAssigner(config) {
  return consumer.call(this, { partitionAssigners: [mockSafeAssigner], ...config });
};
