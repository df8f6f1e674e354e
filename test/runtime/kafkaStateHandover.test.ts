import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTopics, produceMessages, sharedKafka, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice, type SluiceProcess } from '../kit/sluiceProcess.ts';

const KEYS = 40;

/** `perKey` records for each key, numbered from `from`, keyed so each key stays in one partition. */
function numbered(from: number, perKey: number) {
  const messages = [];
  for (let seq = from; seq < from + perKey; seq += 1) {
    for (let k = 0; k < KEYS; k += 1) messages.push({ key: `k${k}`, value: JSON.stringify({ key: `k${k}`, seq }) });
  }
  return messages;
}

/** Distinct (key, seq) results, failing on any whose count is not its seq. */
function checkCounts(messages: readonly { value: Buffer | null }[]): Set<string> {
  const seen = new Set<string>();
  for (const message of messages) {
    const { key, seq, count } = JSON.parse(message.value!.toString()) as { key: string; seq: number; count: number };
    assert.equal(count, seq, `${key} #${seq} was counted as ${count}: state was lost or counted twice`);
    seen.add(`${key}#${seq}`);
  }
  return seen;
}

describe('keyed state follows its partition through the changelog', () => {
  let kafka: KafkaCluster;
  let first: SluiceProcess;
  let second: SluiceProcess | undefined;
  let third: SluiceProcess | undefined;

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [{ name: 'numbered', partitions: 4 }, { name: 'counted', partitions: 4 }, { name: 'key-counter-dead-letters', partitions: 1 }, { name: 'handover-changelog', partitions: 4, config: { 'cleanup.policy': 'compact' } }]);
  });
  after(async () => {
    await killAllSluice();
  });

  const args = () => [
    'run', 'test/fixtures/jobs/key-counter.ts', '--brokers', kafka.brokers.join(','), '--group', 'handover', '--no-progress',
    '--input-topic', 'numbered', '--output-topic', 'counted', '--checkpoint-interval', '200', '--max-in-flight', '500',
  ];

  it('gives a partition that moves to another process the state its old owner had', async () => {
    await produceMessages(kafka.brokers, 'numbered', numbered(1, 25));
    first = spawnSluice(args(), { env: KAFKA_TEST_ENV });
    await consumeUntil(kafka.brokers, 'counted', { until: (got) => checkCounts(got).size >= KEYS * 25, timeoutMs: 60_000 });
    // Let a checkpoint cover everything, then scale out: two of the four partitions move.
    await new Promise((resolve) => setTimeout(resolve, 600));
    second = spawnSluice(args(), { env: KAFKA_TEST_ENV });
    await second.waitForStderr(/assigned numbered\[\d/, 45_000);
    await second.waitForStderr(/restored state of numbered\[\d+\]@\d+/, 45_000);
    await produceMessages(kafka.brokers, 'numbered', numbered(26, 25));
    const output = await consumeUntil(kafka.brokers, 'counted', { until: (got) => checkCounts(got).size >= KEYS * 50, timeoutMs: 60_000 });
    assert.equal(checkCounts(output).size, KEYS * 50);
    first.kill('SIGTERM');
    second.kill('SIGTERM');
    assert.equal((await first.exited).code, 0, first.stderr());
    assert.equal((await second.exited).code, 0, second.stderr());
  });

  it('restores every partition after a kill -9, counting nothing twice', async () => {
    third = spawnSluice(args(), { env: KAFKA_TEST_ENV });
    await third.waitForStderr(/restored state of numbered\[0\]@\d+ numbered\[1\]@\d+ numbered\[2\]@\d+ numbered\[3\]@\d+|restored state of (numbered\[\d\]@\d+ ?){4}/, 45_000);
    const feed = produceMessages(kafka.brokers, 'numbered', numbered(51, 25));
    await consumeUntil(kafka.brokers, 'counted', { until: (got) => checkCounts(got).size >= KEYS * 60, timeoutMs: 60_000 });
    third.kill('SIGKILL');
    await third.exited;
    await feed;
    const fourth = spawnSluice(args(), { env: KAFKA_TEST_ENV });
    const output = await consumeUntil(kafka.brokers, 'counted', { until: (got) => checkCounts(got).size >= KEYS * 75, timeoutMs: 60_000 });
    assert.equal(checkCounts(output).size, KEYS * 75);
    fourth.kill('SIGTERM');
    assert.equal((await fourth.exited).code, 0, fourth.stderr());
  });
});
