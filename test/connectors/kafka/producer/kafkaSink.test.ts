import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CompletionTracker } from '../../../../core/completion.ts';
import type { DeadLetter, KafkaSettings } from '../../../../core/job.ts';
import type { Envelope } from '../../../../core/record.ts';
import { DEAD_LETTER_HEADERS, kafkaDeadLetterSink, kafkaSink } from '../../../../connectors/kafka/index.ts';
import { kafkaTuning } from '../../../../connectors/kafka/config.ts';
import { messageBytes } from '../../../../connectors/kafka/producer/requestChunks.ts';
import { PartitionTransactions } from '../../../../connectors/kafka/transactions/partitionTransactions.ts';
import { readCommitted } from '../../../kit/exactlyOnce.ts';
import { createTestKafka, createTopics, sharedKafka, TEST_CONSUMER_TIMINGS, type KafkaCluster } from '../../../kit/kafka.ts';
import { consumeUntil } from '../../../kit/sluiceProcess.ts';

const tracker = new CompletionTracker();
let offset = 0;

function envelope<V>(value: V, extra: Partial<Envelope<V>> = {}): Envelope<V> {
  const position = { topic: 'in', partition: 0, offset: offset++ };
  return {
    key: undefined,
    value,
    timestamp: Date.now(),
    position,
    headers: {},
    trace: undefined,
    receivedAt: performance.now(),
    original: undefined,
    ticket: tracker.track(position),
    ...extra,
  };
}

/**
 * The sizes of a topic's record batches, in offset order, once `count` records are there: Kafka
 * keeps each produce request's records of a partition as one record batch; kafkajs tells a
 * message's batch by its (untyped) batchContext.firstOffset.
 */
async function recordBatches(kafka: KafkaCluster, topic: string, count: number): Promise<number[]> {
  const consumer = createTestKafka(kafka.brokers).consumer({ groupId: `${topic}-reader`, ...TEST_CONSUMER_TIMINGS });
  const batches = new Map<string, number>();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const first = (message as { batchContext?: { firstOffset?: string } }).batchContext?.firstOffset;
          if (first === undefined) throw new Error('kafkajs no longer exposes batchContext.firstOffset');
          batches.set(first, (batches.get(first) ?? 0) + 1);
        }
        if ([...batches.values()].reduce((a, b) => a + b, 0) >= count) resolve();
      },
    });
  });
  await done;
  await consumer.disconnect();
  return [...batches.entries()].sort(([a], [b]) => Number(a) - Number(b)).map(([, size]) => size);
}

const header = (headers: Record<string, unknown>, name: string) => (headers[name] === undefined ? undefined : String(headers[name]));

describe('kafkaSink', () => {
  let kafka: KafkaCluster;
  let settings: KafkaSettings;
  const quiet = () => {};
  const lines: string[] = [];

  before(async () => {
    // One broker per test file (process), so these names meet no other file's topics.
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [
      { name: 'out', partitions: 4 },
      { name: 'batched', partitions: 1 },
      { name: 'sized', partitions: 1 },
      { name: 'outage', partitions: 1 },
      { name: 'dead', partitions: 1 },
      { name: 'eos-big', partitions: 1 },
      // The input partition the records came from: the exactly-once commit sends its offset.
      { name: 'in', partitions: 1 },
    ]);
    settings = { brokers: kafka.brokers, groupId: 'unused', clientId: 'sink-test', start: 'earliest' };
  });

  it('writes keyed records with traceparent and model-version headers', async () => {
    const sink = kafkaSink<{ id: number; modelVersion: string }>({ settings, topic: 'out', log: quiet });
    const traceparent = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    await sink.write([
      envelope({ id: 1, modelVersion: 'fraud-v1' }, { key: 'user-a', trace: { traceparent } }),
      envelope({ id: 2, modelVersion: 'fraud-v1' }, { key: 'user-b' }),
    ]);
    await sink.close!();
    const got = await consumeUntil(kafka.brokers, 'out', { until: (m) => m.length >= 2, timeoutMs: 15_000 });
    const byId = new Map(got.map((m) => [(JSON.parse(m.value!.toString()) as { id: number }).id, m]));
    assert.equal(byId.get(1)!.key?.toString(), 'user-a');
    assert.equal(header(byId.get(1)!.headers, 'traceparent'), traceparent);
    assert.equal(header(byId.get(1)!.headers, 'model-version'), 'fraud-v1');
    assert.equal(byId.get(2)!.key?.toString(), 'user-b');
    assert.equal(header(byId.get(2)!.headers, 'traceparent'), undefined);
  });

  it('sends at most batchSize records per produce request', async () => {
    const sink = kafkaSink<number>({ settings, topic: 'batched', batchSize: 100, log: quiet });
    await sink.write(Array.from({ length: 250 }, (_, i) => envelope(i)));
    await sink.close!();
    assert.deepEqual(await recordBatches(kafka, 'batched', 250), [100, 100, 50]);
  });

  it('cuts produce requests at maxRequestBytes, and sends a message over it alone', async () => {
    // 1,036 bytes a message with its framing counted at its most: 9 fit in 10,000 bytes.
    const sink = kafkaSink<string>({ settings, topic: 'sized', maxRequestBytes: 10_000, encode: (record) => record.value, log: quiet });
    const values = Array.from({ length: 40 }, (_, i) => `${i}:`.padEnd(1000, 'x'));
    values.splice(20, 0, 'big:'.padEnd(25_000, 'y'));
    await sink.write(values.map((value) => envelope(value)));
    await sink.close!();
    const sizes = await recordBatches(kafka, 'sized', 41);
    assert.deepEqual(sizes, [9, 9, 2, 1, 9, 9, 2], `record batches of ${sizes.join(', ')}`);
    const got = await consumeUntil(kafka.brokers, 'sized', { until: (m) => m.length >= 41, timeoutMs: 15_000 });
    assert.deepEqual(got.map((m) => m.value!.toString()), values, 'every value once, in order');
  });

  it('exactly once, cuts a write of several megabytes for one partition into requests the broker accepts', async () => {
    // 3,000 records of 1 KB from one input partition to one output partition, in one write: one
    // request would be a 3 MB batch, which the broker refuses (message.max.bytes is 1 MiB).
    const transactions = new PartitionTransactions({ settings: { ...settings, groupId: 'eos-big' }, tuning: kafkaTuning() });
    try {
      await transactions.claim([{ topic: 'in', partition: 0 }]);
      const sink = kafkaSink<string>({ settings, topic: 'eos-big', encode: (record) => record.value, transactions });
      const values = Array.from({ length: 3000 }, (_, i) => `${i}:`.padEnd(1000, 'x'));
      const records = values.map((value) => envelope(value));
      await sink.write(records);
      await transactions.commit([{ topic: 'in', partition: 0, offset: records.at(-1)!.position.offset, messages: [] }]);
      const got = await readCommitted(kafka.brokers, 'eos-big');
      assert.equal(got.length, values.length);
      assert.ok(got.every((m, i) => m.value!.toString() === values[i]), 'every value once, in order');
    } finally {
      await transactions.close();
    }
  });

  it('counts a message by its UTF-8 bytes and framing', () => {
    assert.equal(messageBytes({ key: 'u1', value: '{"score":0.1}' }), 2 + 13 + 36);
    assert.equal(messageBytes({ key: null, value: 'é€' }), 2 + 3 + 36);
    assert.equal(messageBytes({ key: Buffer.alloc(5), value: null, headers: { traceparent: 'a'.repeat(55), 'model-version': ['v1', 'v2'] } }), 5 + 36 + (10 + 11 + 55) + (10 + 13 + 10 + 2 + 10 + 2));
  });

  it('keeps retrying while the broker is down and resolves a write only once it is acknowledged', async (t) => {
    const sink = kafkaSink<number>({ settings, topic: 'outage', tuning: { deliveryTimeoutMs: 60_000 }, log: (line) => lines.push(line) });
    await sink.write([envelope(0)]); // connected
    await kafka.kill(1);
    let written = false;
    const write = sink.write(Array.from({ length: 10 }, (_, i) => envelope(i + 1))).then(() => {
      written = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 6000));
    assert.equal(written, false, 'a write resolved while the broker was down');
    await kafka.restart(1);
    await write;
    await sink.close!();
    const got = await consumeUntil(kafka.brokers, 'outage', { until: (m) => m.length >= 11, timeoutMs: 15_000 });
    assert.deepEqual([...new Set(got.map((m) => Number(m.value!.toString())))].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    t.diagnostic(`sink said: ${lines.join(' / ') || '(nothing: kafkajs retries covered the outage)'}`);
  });

  it('fails with a clear error once the delivery timeout has passed', async () => {
    const sink = kafkaSink<number>({ settings: { ...settings, brokers: ['127.0.0.1:1'] }, topic: 'out', tuning: { deliveryTimeoutMs: 1500 }, log: quiet });
    await assert.rejects(sink.write([envelope(1)]), (error: Error) => {
      assert.equal(error.name, 'ConnectorError');
      assert.match(error.message, /could not write to topic out for 2 s .*127\.0\.0\.1:1/);
      return true;
    });
    await sink.close!();
  });

  it('dead-letter sink writes the original bytes with reason, stage and position headers', async () => {
    const sink = kafkaDeadLetterSink({ settings, topic: 'dead', log: quiet });
    const original = Buffer.from('{"amount": NaN');
    const letter: DeadLetter = {
      reason: 'malformed JSON: Unexpected token N',
      stage: 'decode',
      topic: 'transactions',
      partition: 3,
      offset: 1234,
      key: 'u0042',
      original,
      value: undefined,
      at: Date.parse('2024-01-02T03:04:05.000Z'),
    };
    await sink.write([envelope(letter)]);
    await sink.close!();
    const [m] = await consumeUntil(kafka.brokers, 'dead', { until: (got) => got.length >= 1, timeoutMs: 15_000 });
    assert.deepEqual(m!.value, original);
    assert.equal(m!.key?.toString(), 'u0042');
    assert.equal(header(m!.headers, DEAD_LETTER_HEADERS.reason), letter.reason);
    assert.equal(header(m!.headers, DEAD_LETTER_HEADERS.stage), 'decode');
    assert.equal(header(m!.headers, DEAD_LETTER_HEADERS.topic), 'transactions');
    assert.equal(header(m!.headers, DEAD_LETTER_HEADERS.partition), '3');
    assert.equal(header(m!.headers, DEAD_LETTER_HEADERS.offset), '1234');
    assert.equal(header(m!.headers, DEAD_LETTER_HEADERS.at), '2024-01-02T03:04:05.000Z');
  });
});
