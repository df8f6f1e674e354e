import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTopics, sharedKafka, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice } from '../kit/sluiceProcess.ts';
import { countDecisions, startTransactionFeed } from '../kit/transactionFeed.ts';

const TOTAL = 30_000;
const MAX_IN_FLIGHT = 1000;

describe('kill -9 of a Kafka job mid-stream, then a restart', () => {
  let kafka: KafkaCluster;
  let decisions: Map<string, number>;
  let written = 0;
  let killedMidStream = false;
  let restartExit: { code: number | null };

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [{ name: 'tx', partitions: 4 }, { name: 'decisions', partitions: 4 }, { name: 'dead', partitions: 1 }]);
    const args = [
      'run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(','), '--group', 'crash', '--no-progress',
      '--input-topic', 'tx', '--output-topic', 'decisions', '--dead-letter-topic', 'dead', '--max-in-flight', String(MAX_IN_FLIGHT),
    ];
    const first = spawnSluice(args, { env: KAFKA_TEST_ENV });
    // Input starts once the job is in the group, so a slow start on a loaded machine cannot let
    // the feed finish before the job is stopped mid-stream.
    await first.waitForStderr(/assigned tx\[/, 60_000);
    const feed = startTransactionFeed(kafka.brokers, 'tx', { count: TOTAL, perSecond: 2500 });
    // Kill it once it has written some decisions (and so committed some offsets).
    await consumeUntil(kafka.brokers, 'decisions', { until: (got) => got.length >= 2000, timeoutMs: 30_000 });
    first.kill('SIGKILL');
    await first.exited;
    killedMidStream = feed.sent() < TOTAL;

    const second = spawnSluice(args, { env: KAFKA_TEST_ENV });
    try {
      await feed.done;
      const output = await consumeUntil(kafka.brokers, 'decisions', { until: (got) => countDecisions(got).size >= TOTAL, timeoutMs: 45_000 });
      decisions = countDecisions(output);
      written = output.length;
    } finally {
      second.kill('SIGTERM');
      restartExit = await second.exited;
    }
  });

  after(async () => {
    await killAllSluice();
  });

  it('was killed while input was still arriving', () => {
    assert.ok(killedMidStream);
  });

  it('has every input\'s decision in the output after the restart', () => {
    assert.equal(decisions.size, TOTAL);
  });

  it('repeats at most the in-flight budget of records', (t) => {
    const duplicates = written - decisions.size;
    t.diagnostic(`duplicates after kill -9: ${duplicates} (budget ${MAX_IN_FLIGHT})`);
    assert.ok(duplicates <= MAX_IN_FLIGHT, `${duplicates} decisions written twice, more than the in-flight budget of ${MAX_IN_FLIGHT}`);
  });

  it('the restarted run stops cleanly', () => {
    assert.equal(restartExit.code, 0);
  });
});
