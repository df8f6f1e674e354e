import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CompressionTypes, Partitioners } from 'kafkajs';
import { mergeMap, from, of } from 'rxjs';
import { defineJob } from '../../../../core/defineJob.ts';
import type { KafkaSettings, Sink } from '../../../../core/job.ts';
import { input, output, type Schema } from '../../../../core/streams.ts';
import type { Envelope } from '../../../../core/record.ts';
import { kafkaSource } from '../../../../connectors/kafka/index.ts';
import { createTestKafka, createTopics, produceMessages, sharedKafka, TEST_CONSUMER_TIMINGS, uniqueTopic, type KafkaCluster } from '../../../kit/kafka.ts';
import { startTestJob } from '../../../kit/jobs.ts';
import { committedOffsets, highWatermarks } from '../../../kit/sluiceProcess.ts';

const numbered: Schema<{ n: number }> = { parse: (value) => value as { n: number } };

/** The test timings of the kit, as source tuning. */
const TUNING = {
  sessionTimeoutMs: TEST_CONSUMER_TIMINGS.sessionTimeout,
  heartbeatIntervalMs: TEST_CONSUMER_TIMINGS.heartbeatInterval,
  rebalanceTimeoutMs: TEST_CONSUMER_TIMINGS.rebalanceTimeout,
  maxWaitMs: TEST_CONSUMER_TIMINGS.maxWaitTimeInMs,
  commitIntervalMs: 200,
};

// A real heap measurement needs a collection first; tests run without --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + Math.max(0, b), 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('kafkaSource', () => {
  let kafka: KafkaCluster;
  const topics = { slow: uniqueTopic('slow'), hold: uniqueTopic('hold'), keys: uniqueTopic('keys') };

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [{ name: topics.slow, partitions: 4 }, { name: topics.hold, partitions: 1 }, { name: topics.keys, partitions: 1 }]);
  });

  const kafkaSettings = (groupId: string): KafkaSettings => ({ brokers: kafka.brokers, groupId, clientId: `test-${groupId}`, start: 'earliest' });

  it('with a slow sink, pauses consumption: lag grows, memory does not, and the group does not rebalance', async (t) => {
    const MAX_IN_FLIGHT = 500;
    // Big, compressible records (2 KiB each): buffering them instead of pausing would show in the heap.
    const pad = 'x'.repeat(2048);
    const producer = createTestKafka(kafka.brokers, { clientId: 'slow-feed' }).producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: false });
    await producer.connect();
    let produced = 0;
    let feeding = true;
    const feed = (async () => {
      while (feeding && produced < 40_000) {
        const messages = Array.from({ length: 200 }, (_, i) => ({ key: `k${(produced + i) % 97}`, value: JSON.stringify({ n: produced + i, pad }) }));
        await producer.send({ topic: topics.slow, compression: CompressionTypes.GZIP, messages });
        produced += messages.length;
        await sleep(100); // ~2000 records/s
      }
    })();

    // About 400 records/s, and once a write that takes longer than the session timeout.
    let writes = 0;
    const slowSink: Sink<unknown> = {
      name: 'slow',
      async write(records) {
        writes += 1;
        await sleep(writes === 10 ? TUNING.sessionTimeoutMs + 1500 : records.length * 2.5);
      },
    };
    const job = defineJob({
      name: 'slow-sink',
      inputs: { slow: input(topics.slow, numbered) },
      outputs: { out: output<{ n: number }>('unused') },
      pipeline: ({ slow }) => slow,
    });
    const source = kafkaSource<{ n: number }>({ settings: kafkaSettings('slow-sink'), topic: topics.slow, tuning: TUNING, log: () => {} });
    const { running } = startTestJob(job, { maxInFlight: MAX_IN_FLIGHT, sources: { slow: source }, sinks: { out: slowSink } });
    let rebalances = 0;
    let pauses = 0;
    const lag = new Map<number, number>();
    running.instrumentation.on('source.rebalance', () => (rebalances += 1));
    running.instrumentation.on('source.backpressure', ({ paused }) => paused && (pauses += 1));
    running.instrumentation.on('source.lag', ({ partition, lag: value }) => lag.set(partition, value));

    const heap: number[] = [];
    const lagSamples: { source: number; committed: number }[] = [];
    try {
      while (running.stats().out === 0) await sleep(100);
      for (let i = 0; i < 12; i += 1) {
        await sleep(700);
        collectGarbage();
        heap.push(process.memoryUsage().heapUsed);
        const [hw, committed] = await Promise.all([highWatermarks(kafka.brokers, topics.slow), committedOffsets(kafka.brokers, 'slow-sink', topics.slow)]);
        lagSamples.push({ source: sum(lag.values()), committed: sum(hw.values()) - sum(committed.values()) });
      }
    } finally {
      feeding = false;
      await feed;
      await producer.disconnect();
      running.stop();
    }
    const stats = await running.done;

    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    t.diagnostic(`lag (source view / committed) ${lagSamples.map((s) => `${s.source}/${s.committed}`).join(' ')}`);
    t.diagnostic(`heap MiB ${heap.map(mb).join(' ')}; produced ${produced}, consumed ${stats.in}, pauses ${pauses}, writes ${writes}`);
    assert.ok(writes >= 10, 'the long sink write never happened');
    // Lag grows: the consumer takes less than the producer writes, and leaves the rest in Kafka.
    const first = lagSamples[0]!;
    const last = lagSamples.at(-1)!;
    assert.ok(last.committed > first.committed + 3000, `committed lag did not grow: ${first.committed} -> ${last.committed}`);
    assert.ok(pauses > 0, 'the consumer never paused');
    // Memory does not: the records left in Kafka are ~2 KiB each, tens of MiB by the end.
    assert.ok(stats.peakInFlight <= MAX_IN_FLIGHT);
    assert.ok(Math.max(...heap) - heap[0]! < 16 * 2 ** 20, `heap grew from ${mb(heap[0]!)} to ${mb(Math.max(...heap))} MiB`);
    // No rebalance beyond the first assignment, even across a sink write longer than the session timeout.
    assert.equal(rebalances, 1);
    // Real Kafka hands over up to 1 MiB per partition per fetch, so backpressure can hold one
    // large batch for seconds: the source's own lag figure (source.lag, the lag metric) must
    // still grow, from the watermarks it asks the broker for on each commit tick.
    await t.test("the source's own lag figure grows too", () => {
      assert.ok(last.source > first.source + 3000, `the source's lag did not grow (it fetched ahead): ${first.source} -> ${last.source}`);
    });
  });

  it("keys a record by its Kafka key unless the source derives one, and a dead letter keeps the key's text", async () => {
    await produceMessages(kafka.brokers, topics.keys, [
      { key: 'user-1', value: JSON.stringify({ n: 1 }) },
      { key: 'user-2', value: '{"n": ' },
      { value: JSON.stringify({ n: 3 }) },
    ]);
    const read = async (group: string, key?: (value: { n: number }) => string) => {
      const job = defineJob({
        name: group,
        inputs: { keys: input(topics.keys, numbered) },
        outputs: { out: output<{ n: number }>('unused') },
        pipeline: ({ keys }) => keys,
      });
      const source = kafkaSource<{ n: number }>({ settings: kafkaSettings(group), topic: topics.keys, tuning: TUNING, log: () => {}, ...(key === undefined ? {} : { key }) });
      const { running, outputs, deadLetters } = startTestJob(job, { sources: { keys: source } });
      try {
        while (outputs['out']!.records.length < 2 || deadLetters.values.length < 1) await sleep(50);
      } finally {
        running.stop();
        await running.done;
      }
      return { keys: outputs['out']!.records.map((r) => r.key), dead: deadLetters.values.map((d) => d.key) };
    };
    assert.deepEqual(await read('keys-from-kafka'), { keys: ['user-1', undefined], dead: ['user-2'] });
    assert.deepEqual(await read('keys-from-values', (value) => `n${value.n}`), { keys: ['n1', 'n3'], dead: ['user-2'] });
  });

  it('never commits past an unfinished record; commits everything once it finishes', async () => {
    await produceMessages(kafka.brokers, topics.hold, Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify({ n: i }) })));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const job = defineJob({
      name: 'hold',
      inputs: { hold: input(topics.hold, numbered) },
      outputs: { out: output<{ n: number }>('unused') },
      // Offset 10 is held back; everything else goes straight through.
      pipeline: ({ hold }) => hold.pipe(mergeMap((record: Envelope<{ n: number }>) => (record.position.offset === 10 ? from(released.then(() => record)) : of(record)))),
    });
    const source = kafkaSource<{ n: number }>({ settings: kafkaSettings('hold'), topic: topics.hold, tuning: TUNING, log: () => {} });
    const { running, outputs } = startTestJob(job, { sources: { hold: source } });
    const sink = outputs['out']!;
    try {
      while (sink.values.length < 99) await sleep(50);
      await sleep(TUNING.commitIntervalMs * 4);
      const held = await committedOffsets(kafka.brokers, 'hold', topics.hold);
      assert.equal(held.get(0), 10, 'the commit must stop at the unfinished offset 10 (next to read)');
      release();
      let committed = held.get(0);
      for (let i = 0; i < 50 && committed !== 100; i += 1) {
        await sleep(100);
        committed = (await committedOffsets(kafka.brokers, 'hold', topics.hold)).get(0);
      }
      assert.equal(committed, 100);
    } finally {
      release();
      running.stop();
      await running.done;
    }
  });
});
