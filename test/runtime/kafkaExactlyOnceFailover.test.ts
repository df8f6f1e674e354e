import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertExactlyOnceOfInput, badRecords, describeTransactions, numberedInput, readCommitted } from '../kit/exactlyOnce.ts';
import { Partitioners } from 'kafkajs';
import { createTestKafka, createTopics, startKafka, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice } from '../kit/sluiceProcess.ts';

const KEYS = 40;
const PER_KEY = 500;
const FEED_MS = 30_000;

describe('exactly-once on a 3-node cluster that loses a broker mid-stream', { timeout: 300_000 }, () => {
  let kafka: KafkaCluster;
  before(async () => {
    kafka = await startKafka({ nodes: 3 });
    // Replicated 3 times, writes need 2 in sync: one broker may die without losing a committed record.
    const config = { 'min.insync.replicas': '2' };
    await createTopics(kafka.brokers, [
      { name: 'fo-in', partitions: 4, config },
      { name: 'fo-out', partitions: 4, config },
      { name: 'fo-dead', partitions: 1, config },
      { name: 'fo-changelog', partitions: 4, config: { ...config, 'cleanup.policy': 'compact' } },
    ]);
  });
  after(async () => {
    await killAllSluice();
    await kafka?.stop();
  });

  it('a read_committed reader sees every output once after a broker is killed and restarted', async (t) => {
    const args = [
      'run', 'test/fixtures/jobs/key-counter.ts', '--brokers', kafka.brokers.join(','), '--group', 'fo', '--no-progress', '--parallelism', '1',
      '--input-topic', 'fo-in', '--output-topic', 'fo-out', '--dead-letter-topic', 'fo-dead', '--changelog-topic', 'fo-changelog',
      '--checkpoint-interval', '100', '--max-in-flight', '2000', '--guarantee', 'exactly-once',
    ];
    let bad = 0;
    // One idempotent producer for the whole feed, connected before the kill: a send retried
    // across the failover must not write the input twice (a plain producer's retry can), and a
    // producer connecting while the broker is down would fail its InitProducerId.
    const feeder = createTestKafka(kafka.brokers, { clientId: 'fo-feed', retries: 30 }).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await feeder.connect();
    t.after(() => feeder.disconnect());
    const started = Date.now();
    const feed = (async () => {
      for (let from = 1; from <= PER_KEY; from += 5) {
        const messages = numberedInput(KEYS, from, 5);
        await feeder.send({ topic: 'fo-in', acks: -1, messages });
        bad += badRecords(messages);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (FEED_MS * (from + 4)) / PER_KEY - Date.now())));
      }
    })();
    // Like a supervisor: a run that stops (a write or commit that failed past kafkajs' retries
    // ends it with exit 1, its open transactions aborted) is started again.
    let job = spawnSluice(args, { env: KAFKA_TEST_ENV });
    const stops: string[] = [];
    let supervising = true;
    const supervisor = (async () => {
      while (supervising) {
        const exit = await job.exited;
        if (!supervising) return;
        stops.push(`exit ${exit.code ?? exit.signal}: ${job.stderr().trim().split('\n').filter((line) => line.startsWith('sluice:')).at(-1) ?? ''}`);
        job = spawnSluice(args, { env: KAFKA_TEST_ENV });
      }
    })();
    await job.waitForStderr(/assigned fo-in\[0,1,2,3\]/, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    // Node 2: a broker that leads some partitions (and perhaps the transaction coordinator).
    await kafka.kill(2);
    await new Promise((resolve) => setTimeout(resolve, 8000));
    await kafka.restart(2);
    await feed;
    // Judged against what the input topic holds (read by Kafka's own consumer), so that a record
    // the feed lost in the failover is reported as the feed's, not blamed on the job.
    const inputs = await readCommitted(kafka.brokers, 'fo-in');
    const good = inputs.filter((m) => !m.value!.toString().startsWith('{broken')).length;
    await consumeUntil(kafka.brokers, 'fo-out', { until: (got) => got.length >= good, timeoutMs: 120_000 }).catch(async (error: Error) => {
      const brokers = await describeTransactions(kafka.brokers, 'fo', ['fo-in', 'fo-out', 'fo-dead', 'fo-changelog']);
      throw new Error(`${error.message}; inputs ${inputs.length} (${good} good); stops: ${stops.join(' | ')}; the brokers:\n${brokers}\nthe job's stderr:\n${job.stderr().split('\n').filter((l) => !/Response|ECONNREFUSED/.test(l)).join('\n')}`);
    });
    supervising = false;
    await job.waitForStderr(/output counted: Kafka topic/, 60_000);
    job.kill('SIGTERM');
    assert.equal((await job.exited).code, 0, job.stderr());
    await supervisor;
    t.diagnostic(`runs that stopped and were restarted: ${stops.length}${stops.length > 0 ? ` (${stops.join(' | ')})` : ''}`);
    const missingFromInput = assertExactlyOnceOfInput(await readCommitted(kafka.brokers, 'fo-out'), inputs, KEYS, PER_KEY);
    t.diagnostic(`input: ${inputs.length} records (${bad} bad sent); acknowledged to the feed but not in the input topic: ${missingFromInput.length}${missingFromInput.length > 0 ? ` (${missingFromInput.slice(0, 8).join(', ')})` : ''}`);
    assert.equal((await readCommitted(kafka.brokers, 'fo-dead')).length, inputs.length - good, 'every bad record dead-lettered exactly once');
  });
});
