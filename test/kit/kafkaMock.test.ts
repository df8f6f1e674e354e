/**
 * Tests of the Kafka test kit against librdkafka's mock cluster.
 * Run: npx tsx --test test/kit/kafkaMock.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { Consumer } from 'kafkajs';
import { startMockKafka, type MockKafka } from './kafkaMock.ts';
import { consumeAll, createTestKafka, produceMessages, testConsumerConfig, type TestMessage } from './kafka.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

function messages(prefix: string, n: number): TestMessage[] {
  return Array.from({ length: n }, (_, i) => ({ key: `${prefix}-k${i}`, value: `${prefix}-v${i}` }));
}

type Defer = (cleanup: () => unknown) => void;

/** Cleanups that run when test `t` ends, pass or fail, last registered first. */
function cleanupStack(t: TestContext): Defer {
  const stack: (() => unknown)[] = [];
  t.after(async () => {
    for (let fn = stack.pop(); fn; fn = stack.pop()) await fn();
  });
  return (cleanup) => stack.push(cleanup);
}

/** Starts a cluster, stopped (and checked to be gone) when the test ends. */
async function cluster(defer: Defer, options: Parameters<typeof startMockKafka>[0]): Promise<MockKafka> {
  const mock = await startMockKafka(options);
  defer(async () => {
    await mock.stop();
    assert.equal(isAlive(mock.pid), false, 'mock-broker process still running after stop()');
  });
  return mock;
}

const opts = { timeout: 20_000 };

describe('mock Kafka cluster', () => {
  test('the helper starts and kafkajs can produce and consume', opts, async (t) => {
    const defer = cleanupStack(t);
    const mock = await cluster(defer, { topics: [{ name: 'basic', partitions: 3 }] });
    assert.equal(mock.brokers.length, 1);
    assert.match(mock.brokers[0] ?? '', /^127\.0\.0\.1:\d+$/);

    const sent: TestMessage[] = messages('m', 1000);
    sent[0] = { key: 'h', value: Buffer.from([0, 1, 2]), headers: { trace: 'abc' } };
    await produceMessages(mock.brokers, 'basic', sent);

    const got = await consumeAll(mock.brokers, 'basic', { expected: 1000, timeoutMs: 10_000 });
    assert.equal(got.length, 1000);
    assert.deepEqual(new Set(got.map((m) => m.partition)), new Set([0, 1, 2]));
    const withHeader = got.find((m) => m.key?.toString() === 'h');
    assert.deepEqual(withHeader?.value, Buffer.from([0, 1, 2]));
    assert.equal(withHeader?.headers['trace']?.toString(), 'abc');
    const values = new Set(got.map((m) => m.value?.toString()));
    for (let i = 1; i < 1000; i++) assert.ok(values.has(`m-v${i}`), `missing m-v${i}`);
  });

  test('a cluster of three brokers serves a topic led by several brokers', opts, async (t) => {
    const defer = cleanupStack(t);
    const mock = await cluster(defer, { brokers: 3, topics: [{ name: 'multi', partitions: 6 }] });
    assert.equal(mock.brokers.length, 3);
    assert.equal(new Set(mock.brokers).size, 3);
    await produceMessages(mock.brokers, 'multi', messages('x', 600));
    const got = await consumeAll(mock.brokers, 'multi', { expected: 600, timeoutMs: 10_000 });
    assert.equal(new Set(got.map((m) => m.value?.toString())).size, 600);
  });

  test('a consumer group of two kafkajs consumers splits a 4-partition topic between them', opts, async (t) => {
    const defer = cleanupStack(t);
    const mock = await cluster(defer, { topics: [{ name: 'split', partitions: 4 }] });
    const kafka = createTestKafka(mock.brokers);
    const consumers: Consumer[] = [];
    defer(() => Promise.all(consumers.map((c) => c.disconnect())));

    const assigned: Record<string, number[]> = { A: [], B: [] };
    const seen: Record<string, Set<number>> = { A: new Set(), B: new Set() };
    const values: string[] = [];
    const crashes: string[] = [];
    for (const name of ['A', 'B'] as const) {
      const c = kafka.consumer(testConsumerConfig('split-group'));
      consumers.push(c);
      c.on(c.events.GROUP_JOIN, (e) => {
        assigned[name] = e.payload.memberAssignment['split'] ?? [];
      });
      c.on(c.events.CRASH, (e) => crashes.push(`${name}: ${e.payload.error.message}`));
      await c.connect();
      await c.subscribe({ topics: ['split'], fromBeginning: true });
      await c.run({
        eachMessage: async ({ partition, message }) => {
          seen[name]?.add(partition);
          values.push(message.value?.toString() ?? '');
        },
      });
      // A joins alone first (gets all four partitions), then B's join rebalances.
      if (name === 'A') await waitFor('A to join', () => assigned['A']?.length === 4, 6000);
    }
    await waitFor('both consumers to hold partitions', () => assigned['A']?.length === 2 && assigned['B']?.length === 2, 8000);
    assert.deepEqual(crashes, []);
    assert.deepEqual([...(assigned['A'] ?? []), ...(assigned['B'] ?? [])].sort(), [0, 1, 2, 3]);

    await produceMessages(mock.brokers, 'split', messages('s', 400));
    await waitFor('all 400 messages', () => values.length >= 400, 5000);
    assert.equal(new Set(values).size, 400);
    assert.equal(values.length, 400);
    assert.deepEqual([...(seen['A'] ?? [])].sort(), [...(assigned['A'] ?? [])].sort());
    assert.deepEqual([...(seen['B'] ?? [])].sort(), [...(assigned['B'] ?? [])].sort());
  });

  test('after setBrokerDown on the only broker a produce fails, and after setBrokerUp it succeeds with nothing lost', opts, async (t) => {
    const defer = cleanupStack(t);
    const mock = await cluster(defer, { topics: [{ name: 'fault', partitions: 2 }] });
    const producer = createTestKafka(mock.brokers, { retries: 2 }).producer({ idempotent: false });
    await producer.connect();
    defer(() => producer.disconnect());

    await producer.send({ topic: 'fault', messages: messages('before', 50) });
    await mock.setBrokerDown(1);
    const whileDown = producer.send({ topic: 'fault', messages: messages('down', 50) });
    const outcome = await Promise.race([
      whileDown.then(
        () => 'succeeded',
        () => 'failed',
      ),
      sleep(8000).then(() => 'stalled'),
    ]);
    assert.notEqual(outcome, 'succeeded');
    whileDown.catch(() => {});

    await mock.setBrokerUp(1);
    await producer.send({ topic: 'fault', messages: messages('after', 50) });

    const got = await consumeAll(mock.brokers, 'fault', { expected: 100, timeoutMs: 10_000 });
    const values = got.map((m) => m.value?.toString() ?? '');
    assert.equal(values.filter((v) => v.startsWith('before-')).length, 50);
    assert.equal(values.filter((v) => v.startsWith('after-')).length, 50);
    assert.equal(new Set(values).size, values.length, 'duplicates');
  });

  test('kafkajs pause() stops fetching a partition and resume() continues it without loss', opts, async (t) => {
    const defer = cleanupStack(t);
    const mock = await cluster(defer, { topics: [{ name: 'pr', partitions: 2 }] });
    const consumer = createTestKafka(mock.brokers).consumer(testConsumerConfig('pr-group'));
    defer(() => consumer.disconnect());
    const seen: { partition: number; value: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: ['pr'], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ partition, value: message.value?.toString() ?? '' });
      },
    });
    consumer.pause([{ topic: 'pr', partitions: [0] }]);
    assert.deepEqual(consumer.paused(), [{ topic: 'pr', partitions: [0] }]);
    await sleep(200); // let any fetch already in flight come back

    const onBoth: TestMessage[] = [];
    for (let i = 0; i < 100; i++) onBoth.push({ value: `p${i % 2}-${i}`, partition: i % 2 });
    await produceMessages(mock.brokers, 'pr', onBoth);
    await waitFor('partition 1 to be consumed', () => seen.filter((m) => m.partition === 1).length === 50, 5000);
    await sleep(300);
    assert.equal(seen.filter((m) => m.partition === 0).length, 0, 'paused partition was consumed');

    consumer.resume([{ topic: 'pr', partitions: [0] }]);
    await waitFor('partition 0 after resume', () => seen.filter((m) => m.partition === 0).length === 50, 5000);
    assert.equal(new Set(seen.map((m) => m.value)).size, 100);
  });

  test('startMockKafka rejects bad options before spawning anything', opts, async () => {
    await assert.rejects(startMockKafka({ brokers: 0, topics: [] }), RangeError);
    await assert.rejects(startMockKafka({ topics: [{ name: 'bad name', partitions: 1 }] }), RangeError);
    await assert.rejects(startMockKafka({ topics: [{ name: 't', partitions: 0 }] }), RangeError);
  });

  test('setBrokerDown rejects an unknown broker id', opts, async (t) => {
    const defer = cleanupStack(t);
    const mock = await cluster(defer, { topics: [] });
    await assert.rejects(mock.setBrokerDown(2), RangeError);
  });
});
