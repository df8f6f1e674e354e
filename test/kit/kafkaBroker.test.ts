/**
 * The Kafka test kit against real Apache Kafka: the broker starts and serves kafkajs (groups,
 * idempotence, transactions), faults are real (kill, pause, restart, a leader failing over on
 * three nodes), and no JVM outlives a cluster's stop() or its test process.
 * Run: npx tsx --test --test-force-exit test/kit/kafkaBroker.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { Consumer } from 'kafkajs';

import { eventually, eventuallyValue } from './eventually.ts';
import { KafkaKitError } from './kafkaJars.ts';
import { groupAlive } from './kafkaNode.ts';
import {
  consumeAll,
  createTestKafka,
  createTestTopic,
  createTopics,
  produceMessages,
  sharedKafka,
  startKafka,
  testConsumerConfig,
  uniqueTopic,
  type KafkaCluster,
  type TestMessage,
} from './kafka.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function messages(prefix: string, n: number): TestMessage[] {
  return Array.from({ length: n }, (_, i) => ({ key: `${prefix}-k${i}`, value: `${prefix}-v${i}` }));
}

/** A cluster of the test's own, stopped and checked to be gone when the test ends. */
async function ownCluster(t: TestContext, options: Parameters<typeof startKafka>[0] = {}): Promise<KafkaCluster> {
  const cluster = await startKafka(options);
  t.diagnostic(`${cluster.nodeIds.length} node(s) answered after ${cluster.startMs} ms`);
  t.after(async () => {
    await cluster.stop();
    for (const id of cluster.nodeIds) assert.equal(groupAlive(cluster.pgid(id)), false, `node ${id} still running after stop()`);
  });
  return cluster;
}

const opts = { timeout: 90_000 };

describe('Kafka test broker', () => {
  test('the shared broker starts and kafkajs produces and consumes keys, values and headers', opts, async (t) => {
    const kafka = await sharedKafka();
    t.diagnostic(`shared broker answered after ${kafka.startMs} ms`);
    assert.equal(kafka.brokers.length, 1);
    assert.match(kafka.brokers[0] ?? '', /^127\.0\.0\.1:\d+$/);
    const topic = await createTestTopic(kafka.brokers, 'basic', 3);

    const sent = messages('m', 1000);
    sent[0] = { key: 'h', value: Buffer.from([0, 1, 2]), headers: { trace: 'abc' } };
    await produceMessages(kafka.brokers, topic, sent);

    const got = await consumeAll(kafka.brokers, topic, { expected: 1000, timeoutMs: 20_000 });
    assert.equal(got.length, 1000);
    assert.deepEqual(new Set(got.map((m) => m.partition)), new Set([0, 1, 2]));
    const withHeader = got.find((m) => m.key?.toString() === 'h');
    assert.deepEqual(withHeader?.value, Buffer.from([0, 1, 2]));
    assert.equal(withHeader?.headers['trace']?.toString(), 'abc');
    assert.equal(new Set(got.map((m) => m.value?.toString())).size, 1000);
  });

  test('topics are not created by producing to them', opts, async () => {
    const { brokers } = await sharedKafka();
    await assert.rejects(produceMessages(brokers, uniqueTopic('missing'), messages('x', 1), { retries: 1 }));
  });

  test('two kafkajs consumers of one group split a 4-partition topic', opts, async (t) => {
    const { brokers } = await sharedKafka();
    const topic = await createTestTopic(brokers, 'split', 4);
    const kafka = createTestKafka(brokers);
    const consumers: Consumer[] = [];
    t.after(() => Promise.all(consumers.map((c) => c.disconnect())));
    const assigned: Record<string, number[]> = { A: [], B: [] };
    const values: string[] = [];
    const crashes: string[] = [];
    const group = uniqueTopic('split-group');
    for (const name of ['A', 'B'] as const) {
      const c = kafka.consumer(testConsumerConfig(group));
      consumers.push(c);
      c.on(c.events.GROUP_JOIN, (e) => {
        assigned[name] = e.payload.memberAssignment[topic] ?? [];
      });
      c.on(c.events.CRASH, (e) => crashes.push(`${name}: ${e.payload.error.message}`));
      await c.connect();
      await c.subscribe({ topics: [topic], fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void values.push(message.value?.toString() ?? '') });
      if (name === 'A') await eventually('A to join', () => assigned['A']?.length === 4, { timeoutMs: 15_000, everyMs: 25 });
    }
    await eventually('both consumers to hold partitions', () => assigned['A']?.length === 2 && assigned['B']?.length === 2, { timeoutMs: 15_000, everyMs: 25, detail: () => JSON.stringify(assigned) });
    assert.deepEqual(crashes, []);
    assert.deepEqual([...(assigned['A'] ?? []), ...(assigned['B'] ?? [])].sort(), [0, 1, 2, 3]);
    await produceMessages(brokers, topic, messages('s', 400));
    await eventually('all 400 messages', () => values.length >= 400, { timeoutMs: 15_000, everyMs: 25, detail: () => `${values.length} consumed` });
    assert.equal(new Set(values).size, 400);
  });

  test('a transaction with sendOffsets commits or aborts as a whole for a read_committed reader', opts, async (t) => {
    const { brokers } = await sharedKafka();
    const [input, output] = [uniqueTopic('tx-in'), uniqueTopic('tx-out')];
    await createTopics(brokers, [{ name: input, partitions: 1 }, { name: output, partitions: 2 }]);
    const producer = createTestKafka(brokers).producer({ transactionalId: uniqueTopic('tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    t.after(() => producer.disconnect());
    const group = uniqueTopic('tx-group');
    const offsets = (offset: string) => ({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset }] }] });

    const committed = await producer.transaction();
    await committed.send({ topic: output, messages: messages('kept', 10) });
    await committed.sendOffsets(offsets('5'));
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic: output, messages: messages('dropped', 10) });
    await aborted.sendOffsets(offsets('9'));
    await aborted.abort();
    await produceMessages(brokers, output, [{ value: 'marker' }], { idempotent: true });

    // The marker follows the aborted batch, so once it is read every aborted record was skipped.
    const got = await consumeAll(brokers, output, { expected: 11, timeoutMs: 20_000 });
    assert.deepEqual(got.map((m) => m.value?.toString()).sort(), [...messages('kept', 10).map((m) => String(m.value)), 'marker'].sort());
    const admin = createTestKafka(brokers).admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    const [entry] = await admin.fetchOffsets({ groupId: group, topics: [input] });
    assert.equal(entry?.partitions[0]?.offset, '5');
  });

  test('a paused broker stalls a send that completes after resume; a restarted one keeps its data', opts, async (t) => {
    const kafka = await sharedKafka();
    const topic = await createTestTopic(kafka.brokers, 'fault', 2);
    const producer = createTestKafka(kafka.brokers, { retries: 10 }).producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    await producer.send({ topic, acks: -1, messages: messages('before', 50) });

    kafka.pause(1);
    let resumed = false;
    t.after(() => {
      if (!resumed) kafka.resume(1);
    });
    let settled = false;
    const whilePaused = producer.send({ topic, acks: -1, messages: messages('paused', 50) }).finally(() => {
      settled = true;
    });
    await sleep(1500);
    assert.equal(settled, false, 'a send to a SIGSTOPped broker completed');
    kafka.resume(1);
    resumed = true;
    await whilePaused;

    await kafka.restart(1);
    await producer.send({ topic, acks: -1, messages: messages('after', 50) });
    const got = await consumeAll(kafka.brokers, topic, { expected: 150, timeoutMs: 20_000 });
    const values = got.map((m) => m.value?.toString() ?? '');
    for (const prefix of ['before-', 'paused-', 'after-']) assert.equal(values.filter((v) => v.startsWith(prefix)).length, 50, prefix);
    assert.equal(new Set(values).size, values.length, 'duplicates');
  });

  test('stop() kills every JVM and removes the data', opts, async () => {
    const cluster = await startKafka();
    const root = dirname(dirname(cluster.logPath(1)));
    assert.equal(groupAlive(cluster.pgid(1)), true);
    assert.equal(existsSync(root), true);
    await cluster.stop();
    assert.equal(groupAlive(cluster.pgid(1)), false);
    assert.equal(existsSync(root), false);
  });

  test('a SIGKILLed test process leaves no JVM and no data behind', opts, async (t) => {
    const script = fileURLToPath(new URL('./kafka/holdCluster.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await eventually('the child to start its broker', () => out.includes('\n'), { timeoutMs: 60_000, everyMs: 25 });
    const { pgids, root } = JSON.parse(out) as { pgids: number[]; root: string };
    assert.equal(groupAlive(pgids[0]!), true);
    child.kill('SIGKILL');
    await eventually('the orphaned JVM to die', () => !groupAlive(pgids[0]!), { timeoutMs: 10_000, everyMs: 25 });
    await eventually('the orphaned data to go', () => !existsSync(root), { timeoutMs: 10_000, everyMs: 25 });
  });

  test('on three nodes, killing a partition leader moves leadership and sends go on', opts, async (t) => {
    const cluster = await ownCluster(t, { nodes: 3 });
    assert.equal(new Set(cluster.brokers).size, 3);
    const topic = await createTestTopic(cluster.brokers, 'failover', 3);
    await produceMessages(cluster.brokers, topic, messages('before', 300));
    const admin = createTestKafka(cluster.brokers).admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    const leaderOf0 = async (): Promise<number | undefined> =>
      (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.find((p) => p.partitionId === 0)?.leader;
    const leader = (await leaderOf0())!;
    assert.equal(cluster.nodeIds.includes(leader), true);

    await cluster.kill(leader);
    // Metadata requests may fail while the cluster notices the death: such a poll reads no leader.
    const next = await eventuallyValue(`partition 0 to get a leader other than node ${leader}`, () => leaderOf0().catch(() => undefined), (id) => id !== undefined && id !== leader, {
      timeoutMs: 30_000,
      everyMs: 250,
      detail: (id) => `leader: ${String(id)}`,
    });
    assert.notEqual(next, leader, 'leadership did not move');
    const alive = cluster.brokers.filter((_, i) => cluster.nodeIds[i] !== leader);
    await produceMessages(alive, topic, messages('after', 300), { retries: 10 });
    const got = await consumeAll(alive, topic, { expected: 600, timeoutMs: 30_000 });
    assert.equal(new Set(got.map((m) => m.value?.toString())).size, 600);
  });

  test('startKafka refuses a cluster size other than 1 or 3 before starting anything', opts, async () => {
    await assert.rejects(startKafka({ nodes: 2 as 1 }), KafkaKitError);
  });
});
