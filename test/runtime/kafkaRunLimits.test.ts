import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestKafka, createTopics, produceMessages, sharedKafka, type KafkaCluster } from '../kit/kafka.ts';
import { committedOffsets, highWatermarks, KAFKA_TEST_ENV, killAllSluice, spawnSluice, type SluiceProcess } from '../kit/sluiceProcess.ts';
import { summaryIn } from '../kit/transactionFeed.ts';

const GROUP = 'run-limits';
const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
const numbered = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ key: `k${(from + i) % 37}`, value: JSON.stringify({ key: `k${(from + i) % 37}`, seq: from + i }) }));

/** The run's exit, or a failure naming its output when it has not ended by itself within a minute. */
async function endsByItself(run: SluiceProcess): Promise<{ code: number | null }> {
  const exit = await Promise.race([run.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000))]);
  if (exit !== 'timeout') return exit;
  run.kill('SIGKILL');
  return assert.fail(`the run did not end by itself: ${run.stderr()}`);
}

describe('a Kafka run that ends by itself', () => {
  let kafka: KafkaCluster;
  const args = () => ['run', 'test/fixtures/jobs/key-counter.ts', '--brokers', kafka.brokers.join(','), '--group', GROUP, '--input-topic', 'limits-in', '--output-topic', 'limits-out', '--dead-letter-topic', 'limits-dead', '--no-checkpoints', '--parallelism', '1', '--no-progress'];

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [{ name: 'limits-in', partitions: 4 }, { name: 'limits-out', partitions: 4 }, { name: 'limits-dead', partitions: 1 }]);
    await produceMessages(kafka.brokers, 'limits-in', numbered(0, 3000));
  });

  after(async () => {
    await killAllSluice();
  });

  it('--until-caught-up reads the backlog there was at the start, commits it and exits 0', async () => {
    const run = spawnSluice([...args(), '--until-caught-up'], { env: KAFKA_TEST_ENV });
    const exit = await endsByItself(run);
    assert.equal(exit.code, 0, run.stderr());
    assert.equal(summaryIn(run.stderr()), 3000, run.stderr());
    assert.deepEqual(await committedOffsets(kafka.brokers, GROUP, 'limits-in'), await highWatermarks(kafka.brokers, 'limits-in'), 'everything read was committed');
    assert.equal(sum((await highWatermarks(kafka.brokers, 'limits-out')).values()), 3000);
  });

  it('--max-records N takes exactly N records, commits exactly them and exits 0', async () => {
    await produceMessages(kafka.brokers, 'limits-in', numbered(3000, 1000));
    const before = sum((await committedOffsets(kafka.brokers, GROUP, 'limits-in')).values());
    const run = spawnSluice([...args(), '--max-records', '250'], { env: KAFKA_TEST_ENV });
    const exit = await endsByItself(run);
    assert.equal(exit.code, 0, run.stderr());
    assert.equal(summaryIn(run.stderr()), 250, run.stderr());
    assert.equal(sum((await committedOffsets(kafka.brokers, GROUP, 'limits-in')).values()) - before, 250, 'the commit covers the records taken and no more');
    assert.equal(sum((await highWatermarks(kafka.brokers, 'limits-out')).values()), 3250);
  });

  it('--until-caught-up ends on a topic written in transactions (its backlog ends in a commit marker)', async () => {
    await createTopics(kafka.brokers, [{ name: 'limits-tx-in', partitions: 2 }, { name: 'limits-tx-out', partitions: 2 }]);
    const producer = createTestKafka(kafka.brokers).producer({ transactionalId: 'limits-tx-feed', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (const from of [0, 500]) {
        const transaction = await producer.transaction();
        await transaction.send({ topic: 'limits-tx-in', messages: numbered(from, 500) });
        await transaction.commit();
      }
    } finally {
      await producer.disconnect();
    }
    const run = spawnSluice(['run', 'test/fixtures/jobs/key-counter.ts', '--brokers', kafka.brokers.join(','), '--group', 'run-limits-tx', '--input-topic', 'limits-tx-in', '--output-topic', 'limits-tx-out', '--dead-letter-topic', 'limits-dead', '--no-checkpoints', '--parallelism', '1', '--no-progress', '--until-caught-up'], { env: KAFKA_TEST_ENV });
    const exit = await endsByItself(run);
    assert.equal(exit.code, 0, run.stderr());
    assert.equal(summaryIn(run.stderr()), 1000, run.stderr());
    assert.equal(sum((await highWatermarks(kafka.brokers, 'limits-tx-out')).values()), 1000);
  });

  it('--until-caught-up without Kafka is one line that says why', async () => {
    const run = spawnSluice(['run', 'test/fixtures/jobs/key-counter.ts', '--until-caught-up', '--no-progress']);
    assert.equal((await run.exited).code, 1);
    assert.equal(run.stderr().trim(), 'sluice: --until-caught-up applies only with --brokers (Kafka): an embedded input ends at its own end');
  });
});
