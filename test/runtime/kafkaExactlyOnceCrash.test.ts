import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertExactlyOnce, badRecords, numberedInput, readCommitted } from '../kit/exactlyOnce.ts';
import { createTopics, produceMessages, sharedKafka, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice, type SluiceProcess } from '../kit/sluiceProcess.ts';

// 40 keys x 5,000 = 200,000 records (and about 1,000 bad ones), fed over a minute while the job
// is killed ten times: each kill lands mid-stream with thousands of records in flight.
const KEYS = 40;
const PER_KEY = Number(process.env.SLUICE_EOS_PER_KEY ?? 5000);
const KILLS = 10;
/** The feed writes this many records per key at a time, spread evenly over FEED_MS. */
const CHUNK = 20;
const FEED_MS = 60_000;
/** Which guarantee the job runs with: set SLUICE_TEST_GUARANTEE=at-least-once to watch this test fail. */
const GUARANTEE = process.env.SLUICE_TEST_GUARANTEE ?? 'exactly-once';

describe('exactly-once: kill -9 at ten random points', () => {
  let kafka: KafkaCluster;
  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [
      { name: 'eos-in', partitions: 4 },
      { name: 'eos-out', partitions: 4 },
      { name: 'eos-dead', partitions: 1 },
      { name: 'eos-changelog', partitions: 4, config: { 'cleanup.policy': 'compact' } },
    ]);
  });
  after(() => killAllSluice());

  const args = () => [
    'run', 'test/fixtures/jobs/key-counter.ts', '--brokers', kafka.brokers.join(','), '--group', 'eos-crash', '--no-progress', '--parallelism', '1',
    '--input-topic', 'eos-in', '--output-topic', 'eos-out', '--dead-letter-topic', 'eos-dead', '--changelog-topic', 'eos-changelog',
    '--checkpoint-interval', '100', '--max-in-flight', '2000', '--guarantee', GUARANTEE,
  ];

  it('a read_committed reader sees every output once, counted as an uninterrupted run counts it', async () => {
    // The input arrives during the kills, so each kill lands mid-stream with records in flight.
    let bad = 0;
    const started = Date.now();
    const feed = (async () => {
      for (let from = 1; from <= PER_KEY; from += CHUNK) {
        const perKey = Math.min(CHUNK, PER_KEY - from + 1);
        const messages = numberedInput(KEYS, from, perKey);
        await produceMessages(kafka.brokers, 'eos-in', messages);
        bad += badRecords(messages);
        const due = started + (FEED_MS * (from + CHUNK - 1)) / PER_KEY;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      }
    })();
    let job: SluiceProcess = spawnSluice(args(), { env: KAFKA_TEST_ENV });
    for (let kill = 0; kill < KILLS; kill += 1) {
      // A random point once it owns partitions: first the backlog of its start-up, then the live feed.
      await job.waitForStderr(/assigned eos-in\[/, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 2300));
      assert.equal(job.child.exitCode, null, `the job ended before kill ${kill + 1}: ${job.stderr()}`);
      job.kill('SIGKILL');
      await job.exited;
      job = spawnSluice(args(), { env: KAFKA_TEST_ENV });
    }
    await feed;
    const total = KEYS * PER_KEY;
    await consumeUntil(kafka.brokers, 'eos-out', { until: (got) => got.length >= total, timeoutMs: 180_000 });
    // SIGTERM once it is running (a process still loading would die of the signal).
    await job.waitForStderr(/output counted: Kafka topic/, 60_000);
    job.kill('SIGTERM');
    assert.equal((await job.exited).code, 0, job.stderr());
    assertExactlyOnce(await readCommitted(kafka.brokers, 'eos-out'), KEYS, PER_KEY);
    assert.equal((await readCommitted(kafka.brokers, 'eos-dead')).length, bad, 'every bad record dead-lettered exactly once');
  });
});
