import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

// kafkajs as patched (patches/kafkajs+2.2.4.patch): a transaction survives its coordinators
// moving. Upstream sent AddOffsetsToTxn and EndTxn once, so a broker failover during a commit
// failed the transaction (and with it every output since the last checkpoint), and its
// TxnOffsetCommit retry listed Kafka's error names instead of kafkajs' own
// (GROUP_COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR_FOR_GROUP), so it never matched.

const require = createRequire(import.meta.url);
const createEosManager = require('kafkajs/src/producer/eosManager') as (options: object) => EosManager;
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode: (code: number) => Error };
const { KafkaJSConnectionError } = require('kafkajs/src/errors') as { KafkaJSConnectionError: new (message: string) => Error };

interface EosManager {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  addPartitionsToTransaction(topicData: { topic: string; partitions: { partition: number }[] }[]): Promise<void>;
  sendOffsets(input: { consumerGroupId: string; topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

const COORDINATOR_NOT_AVAILABLE = 15;
const NOT_COORDINATOR = 16;
const CONCURRENT_TRANSACTIONS = 51;
const INVALID_TXN_STATE = 48;

/** A broker that answers each request with the listed failures first, then success; it counts the calls. */
function flakyCoordinator(failures: Partial<Record<'endTxn' | 'addOffsetsToTxn' | 'txnOffsetCommit', (() => Error)[]>>) {
  const calls = { endTxn: 0, addOffsetsToTxn: 0, txnOffsetCommit: 0, findCoordinator: 0 };
  const answer = (name: 'endTxn' | 'addOffsetsToTxn' | 'txnOffsetCommit') => async () => {
    calls[name] += 1;
    const failure = failures[name]?.shift();
    if (failure !== undefined) throw failure();
    return {};
  };
  const broker = {
    initProducerId: async () => ({ producerId: 7, producerEpoch: 0 }),
    addPartitionsToTxn: async () => ({}),
    endTxn: answer('endTxn'),
    addOffsetsToTxn: answer('addOffsetsToTxn'),
    txnOffsetCommit: answer('txnOffsetCommit'),
  };
  const noop = () => {};
  const logger = { debug: noop, info: noop, warn: noop, error: noop, namespace: () => logger };
  const cluster = {
    retry: { retries: 5, initialRetryTime: 1, maxRetryTime: 5 },
    refreshMetadataIfNecessary: async () => {},
    findGroupCoordinator: async () => {
      calls.findCoordinator += 1;
      return broker;
    },
  };
  const eos = createEosManager({ logger, cluster, transactional: true, transactionalId: 'sluice-test-tx' });
  return { eos, calls };
}

async function openTransaction(eos: EosManager): Promise<void> {
  await eos.initProducerId();
  eos.beginTransaction();
  await eos.addPartitionsToTransaction([{ topic: 'out', partitions: [{ partition: 0 }] }]);
}

const offsets = { consumerGroupId: 'g', topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '42' }] }] };

describe('kafkajs transactions across a coordinator failover (patched)', () => {
  it('retries EndTxn against a newly found coordinator when the old one is gone, loading or busy', async () => {
    const { eos, calls } = flakyCoordinator({
      endTxn: [() => new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'), () => createErrorFromCode(NOT_COORDINATOR), () => createErrorFromCode(CONCURRENT_TRANSACTIONS)],
    });
    await openTransaction(eos);
    const found = calls.findCoordinator;
    await eos.commit();
    assert.equal(calls.endTxn, 4);
    assert.equal(calls.findCoordinator - found, 4, 'each attempt asks where the coordinator is now');
  });

  it('retries AddOffsetsToTxn and TxnOffsetCommit when their coordinators move', async () => {
    const { eos, calls } = flakyCoordinator({
      addOffsetsToTxn: [() => createErrorFromCode(COORDINATOR_NOT_AVAILABLE)],
      txnOffsetCommit: [() => createErrorFromCode(COORDINATOR_NOT_AVAILABLE), () => createErrorFromCode(NOT_COORDINATOR)],
    });
    await openTransaction(eos);
    await eos.sendOffsets(offsets);
    await eos.commit();
    assert.equal(calls.addOffsetsToTxn, 2);
    assert.equal(calls.txnOffsetCommit, 3);
  });

  it('does not retry what a retry cannot mend: the commit fails at once', async () => {
    const { eos, calls } = flakyCoordinator({ endTxn: [() => createErrorFromCode(INVALID_TXN_STATE)] });
    await openTransaction(eos);
    await assert.rejects(eos.commit(), /transaction|state/i);
    assert.equal(calls.endTxn, 1);
  });
});
