import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTopics, sharedKafka, type ConsumedMessage, type KafkaCluster } from '../kit/kafka.ts';
import { committedOffsets, consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice } from '../kit/sluiceProcess.ts';
import { countDecisions, readWholeTopic, startTransactionFeed, summaryIn } from '../kit/transactionFeed.ts';

const TOTAL = 30_000;
const GROUP = 'graceful';

describe('SIGTERM on a Kafka job', () => {
  let kafka: KafkaCluster;
  let firstExit: { code: number | null };
  let firstIn: number | undefined;
  let secondExit: { code: number | null };
  let secondIn: number | undefined;
  let committed: Map<number, number>;
  let inputs: ConsumedMessage[];
  let afterFirst: Map<string, number>;
  let afterBoth: Map<string, number>;
  let outputAfterBoth = 0;

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [{ name: 'tx', partitions: 4 }, { name: 'decisions', partitions: 4 }, { name: 'dead', partitions: 1 }]);
    const args = ['run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(','), '--group', GROUP, '--input-topic', 'tx', '--output-topic', 'decisions', '--dead-letter-topic', 'dead', '--max-in-flight', '2000'];
    const first = spawnSluice(args, { env: KAFKA_TEST_ENV });
    // Input starts once the job is in the group, so a slow start on a loaded machine cannot let
    // the feed finish before the job is stopped mid-stream.
    await first.waitForStderr(/assigned tx\[/, 60_000);
    // Input keeps arriving while the first run is stopped, so it is stopped mid-stream.
    const feed = startTransactionFeed(kafka.brokers, 'tx', { count: TOTAL, perSecond: 2500 });
    await first.waitForStderr(/out [1-9][\d,]* \|/, 30_000);
    first.kill('SIGTERM');
    firstExit = await first.exited;
    firstIn = summaryIn(first.stderr());
    assert.ok(feed.sent() < TOTAL, 'the feed ended before the first run was stopped: the test did not stop it mid-stream');
    await feed.done;

    committed = await committedOffsets(kafka.brokers, GROUP, 'tx');
    inputs = await readWholeTopic(kafka.brokers, 'tx');
    afterFirst = countDecisions(await readWholeTopic(kafka.brokers, 'decisions'));

    const second = spawnSluice(args, { env: KAFKA_TEST_ENV });
    try {
      const output = await consumeUntil(kafka.brokers, 'decisions', { until: (got) => countDecisions(got).size >= TOTAL, timeoutMs: 45_000 });
      afterBoth = countDecisions(output);
      outputAfterBoth = output.length;
    } finally {
      second.kill('SIGTERM');
      secondExit = await second.exited;
      secondIn = summaryIn(second.stderr());
    }
  });

  after(async () => {
    await killAllSluice();
  });

  it('exits with code 0', () => {
    assert.equal(firstExit.code, 0);
    assert.equal(secondExit.code, 0);
  });

  it('commits the offsets of everything it read, each with its result written', () => {
    const committedTotal = [...committed.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0);
    assert.ok(committedTotal > 0, 'nothing was committed');
    // Everything read was drained, written and committed: the commit covers exactly what came in.
    assert.equal(committedTotal, firstIn);
    // Every input below a committed offset has its decision in the output.
    for (const m of inputs) {
      if (Number(m.offset) >= (committed.get(m.partition) ?? 0)) continue;
      const id = (JSON.parse(m.value!.toString()) as { id: string }).id;
      assert.equal(afterFirst.get(id), 1, `input tx[${m.partition}]@${m.offset} (${id}) committed without exactly one decision`);
    }
    const decided = [...afterFirst.values()].reduce((a, b) => a + b, 0);
    assert.equal(decided, committedTotal, 'the first run wrote decisions beyond its commit');
  });

  it('resumes after the committed offsets on restart: every input once, nothing repeated', () => {
    assert.equal(firstIn! + secondIn!, TOTAL);
    assert.equal(afterBoth.size, TOTAL);
    assert.equal(outputAfterBoth, TOTAL, 'some decisions were written twice');
  });
});
