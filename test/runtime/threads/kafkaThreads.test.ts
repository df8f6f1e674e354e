import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTopics, produceMessages, sharedKafka, type KafkaCluster } from '../../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice, type SluiceProcess } from '../../kit/sluiceProcess.ts';

// `sluice run --parallelism 2` on a real broker: two consumers of one group in one process, each
// with its own producer and changelog-backed keyed state. The key counter's output says when
// state is lost or doubled (count ≠ seq); its keyed output says when a key's order breaks.

const KEYS = 40;
const JOB = 'test/fixtures/jobs/key-counter-crash.ts';

/** Records numbered `from`..`to` for each key, keyed by key (one partition per key). */
function numbered(from: number, to: number) {
  const messages = [];
  for (let seq = from; seq <= to; seq += 1) {
    for (let k = 0; k < KEYS; k += 1) messages.push({ key: `k${k}`, value: JSON.stringify({ key: `k${k}`, seq }) });
  }
  return messages;
}

/**
 * Distinct (key, seq) results. Fails on a count that is not its seq, and on a key whose results
 * first appear out of order (replays after a crash repeat earlier results, which is allowed).
 */
function checkCounts(messages: readonly { value: Buffer | null; partition: number }[]): Set<string> {
  const seen = new Set<string>();
  const next = new Map<string, number>();
  for (const message of messages) {
    const { key, seq, count } = JSON.parse(message.value!.toString()) as { key: string; seq: number; count: number };
    assert.equal(count, seq, `${key} #${seq} was counted as ${count}: state was lost or counted twice`);
    if (seen.has(`${key}#${seq}`)) continue;
    assert.equal(seq, next.get(key) ?? 1, `${key}: #${seq} came out before #${next.get(key) ?? 1}`);
    next.set(key, seq + 1);
    seen.add(`${key}#${seq}`);
  }
  return seen;
}

describe('--parallelism 2 on Kafka', () => {
  let kafka: KafkaCluster;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-threads-'));
  const args = (...extra: string[]) => [
    'run', JOB, '--parallelism', '2', '--brokers', kafka.brokers.join(','), '--group', 'threads', '--no-progress',
    '--input-topic', 'thr-numbered', '--output-topic', 'thr-counted', '--dead-letter-topic', 'thr-dead',
    '--changelog-topic', 'thr-changelog', '--checkpoint-interval', '200', '--max-in-flight', '500', ...extra,
  ];
  const read = (until: number) => consumeUntil(kafka.brokers, 'thr-counted', { until: (got) => checkCounts(got).size >= KEYS * until, timeoutMs: 90_000 });

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [
      { name: 'thr-numbered', partitions: 4 },
      { name: 'thr-counted', partitions: 4 },
      { name: 'thr-dead', partitions: 1 },
      { name: 'thr-changelog', partitions: 4, config: { 'cleanup.policy': 'compact' } },
    ]);
  });
  after(async () => {
    await killAllSluice();
    rmSync(dir, { recursive: true, force: true });
  });

  let first: SluiceProcess;
  it('splits the partitions between its two consumers and writes every result, each key in order', async () => {
    first = spawnSluice(args(), { env: KAFKA_TEST_ENV });
    // Two partitions to a consumer: the threads share the group's four.
    await first.waitForStderr(/assigned thr-numbered\[\d,\d\]/, 60_000);
    await produceMessages(kafka.brokers, 'thr-numbered', numbered(1, 25));
    assert.equal(checkCounts(await read(25)).size, KEYS * 25);
  });

  it('after a kill -9 of the process, a restart restores each thread\'s state: nothing lost, nothing counted twice', async () => {
    // Let a checkpoint cover the first part, then kill while more input is being counted.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const feed = (async () => {
      for (let seq = 26; seq <= 75; seq += 5) {
        await produceMessages(kafka.brokers, 'thr-numbered', numbered(seq, seq + 4));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await read(35);
    first.kill('SIGKILL');
    await first.exited;
    await feed;
    const second = spawnSluice(args(), { env: KAFKA_TEST_ENV });
    try {
      await second.waitForStderr(/restored state of thr-numbered\[\d/, 60_000);
      assert.equal(checkCounts(await read(75)).size, KEYS * 75);
    } finally {
      second.kill('SIGTERM');
      const exit = await second.exited;
      assert.equal(exit.code, 0, second.stderr());
    }
    assert.match(second.stderr(), /threads +2 stream threads, 0 restarted/);
  });

  it('restarts a thread that throws: its partitions come back with their state, and nothing is lost', async () => {
    const third = spawnSluice(args('--set', 'crashAt=90', '--set', `marker=${join(dir, 'fired')}`), { env: KAFKA_TEST_ENV });
    try {
      await third.waitForStderr(/assigned thr-numbered\[\d,\d\]/, 60_000);
      await produceMessages(kafka.brokers, 'thr-numbered', numbered(76, 100));
      await third.waitForStderr(/stream thread [12] of 2 failed: uncaught (Error: )?planted fault at k0 #90 — restarting it/, 60_000);
      assert.equal(checkCounts(await read(100)).size, KEYS * 100);
    } finally {
      third.kill('SIGTERM');
      const exit = await third.exited;
      assert.equal(exit.code, 0, third.stderr());
    }
    assert.match(third.stderr(), /threads +2 stream threads, 1 restarted/);
  });
});
