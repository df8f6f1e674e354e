import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertExactlyOnce, badRecords, numberedInput, readCommitted, readUncommitted } from '../kit/exactlyOnce.ts';
import { createTopics, produceMessages, sharedKafka, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice } from '../kit/sluiceProcess.ts';

const KEYS = 40;
/** Which guarantee the jobs run with: SLUICE_TEST_GUARANTEE=at-least-once shows these tests fail. */
const GUARANTEE = process.env.SLUICE_TEST_GUARANTEE ?? 'exactly-once';

describe('exactly-once across group changes', () => {
  let kafka: KafkaCluster;
  before(async () => {
    kafka = await sharedKafka();
  });
  after(() => killAllSluice());

  async function topics(name: string): Promise<void> {
    await createTopics(kafka.brokers, [
      { name: `${name}-in`, partitions: 4 },
      { name: `${name}-out`, partitions: 4 },
      { name: `${name}-dead`, partitions: 1 },
      { name: `${name}-changelog`, partitions: 4, config: { 'cleanup.policy': 'compact' } },
    ]);
  }

  const args = (name: string, checkpointMs: number) => [
    'run', 'test/fixtures/jobs/key-counter.ts', '--brokers', kafka.brokers.join(','), '--group', name, '--no-progress', '--parallelism', '1',
    '--input-topic', `${name}-in`, '--output-topic', `${name}-out`, '--dead-letter-topic', `${name}-dead`, '--changelog-topic', `${name}-changelog`,
    '--checkpoint-interval', String(checkpointMs), '--max-in-flight', '2000', '--guarantee', GUARANTEE,
  ];

  it('a paused process whose partitions moved cannot commit: its outputs never become visible', async () => {
    await topics('zombie');
    // A long checkpoint interval keeps the first process's transaction open when it is paused.
    const zombie = spawnSluice(args('zombie', 15_000), { env: KAFKA_TEST_ENV });
    await zombie.waitForStderr(/assigned zombie-in\[0,1,2,3\]/, 60_000);
    await produceMessages(kafka.brokers, 'zombie-in', numberedInput(KEYS, 1, 10));
    // Its outputs are written (a read_uncommitted reader sees them) but not committed.
    await readUncommitted(kafka.brokers, 'zombie-out', KEYS * 10);
    zombie.kill('SIGSTOP');
    if (GUARANTEE === 'exactly-once') assert.equal((await readCommitted(kafka.brokers, 'zombie-out')).length, 0, 'precondition: the paused process has not committed yet');

    const successor = spawnSluice(args('zombie', 200), { env: KAFKA_TEST_ENV });
    // The group drops the paused member after its session timeout; the successor takes every partition.
    await successor.waitForStderr(/assigned zombie-in\[0,1,2,3\]/, 60_000);
    await consumeUntil(kafka.brokers, 'zombie-out', { until: (got) => got.length >= KEYS * 10, timeoutMs: 60_000 });

    zombie.kill('SIGCONT');
    if (GUARANTEE === 'exactly-once') {
      // Its next checkpoint finds its transactional ids fenced: it stops, having committed nothing.
      const exit = await zombie.exited;
      assert.equal(exit.code, 1, zombie.stderr());
      assert.match(zombie.stderr(), /another process took over zombie-in\[\d\] \(transactional id zombie-zombie-in-\d fenced\)/);
    } else {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      zombie.kill('SIGTERM');
      await zombie.exited;
    }
    const more = numberedInput(KEYS, 11, 10);
    await produceMessages(kafka.brokers, 'zombie-in', more);
    await consumeUntil(kafka.brokers, 'zombie-out', { until: (got) => got.length >= KEYS * 20, timeoutMs: 60_000 });
    await successor.waitForStderr(/output counted: Kafka topic/, 10_000);
    successor.kill('SIGTERM');
    assert.equal((await successor.exited).code, 0, successor.stderr());
    assertExactlyOnce(await readCommitted(kafka.brokers, 'zombie-out'), KEYS, 20);
    // The paused process's writes are in the log, aborted: a read_uncommitted reader sees them too.
    if (GUARANTEE === 'exactly-once') assert.ok((await readUncommitted(kafka.brokers, 'zombie-out', KEYS * 30)).length >= KEYS * 30);
  });

  it('processes that join and leave mid-stream (one by SIGTERM, one by kill -9) change nothing a read_committed reader sees', async () => {
    await topics('joiner');
    const perKey = 500;
    let bad = 0;
    const started = Date.now();
    const feed = (async () => {
      for (let from = 1; from <= perKey; from += 5) {
        const messages = numberedInput(KEYS, from, 5);
        await produceMessages(kafka.brokers, 'joiner-in', messages);
        bad += badRecords(messages);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (40_000 * (from + 4)) / perKey - Date.now())));
      }
    })();
    const first = spawnSluice(args('joiner', 100), { env: KAFKA_TEST_ENV });
    await first.waitForStderr(/assigned joiner-in\[0,1,2,3\]/, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const second = spawnSluice(args('joiner', 100), { env: KAFKA_TEST_ENV });
    await second.waitForStderr(/assigned joiner-in\[\d/, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    second.kill('SIGTERM');
    assert.equal((await second.exited).code, 0, second.stderr());
    // A third joins and dies (kill -9) with a transaction open: the first takes its partitions back.
    const third = spawnSluice(args('joiner', 100), { env: KAFKA_TEST_ENV });
    await third.waitForStderr(/assigned joiner-in\[\d/, 60_000);
    // Once it restored its partitions' state it processes records: kill it a moment later.
    await third.waitForStderr(/restored state of joiner-in/, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1200));
    third.kill('SIGKILL');
    await third.exited;
    await feed;
    await consumeUntil(kafka.brokers, 'joiner-out', { until: (got) => got.length >= KEYS * perKey, timeoutMs: 120_000 });
    first.kill('SIGTERM');
    assert.equal((await first.exited).code, 0, first.stderr());
    assertExactlyOnce(await readCommitted(kafka.brokers, 'joiner-out'), KEYS, perKey);
    assert.equal((await readCommitted(kafka.brokers, 'joiner-dead')).length, bad, 'every bad record dead-lettered exactly once');
  });
});
