import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../../kit/eventually.ts';
import { assertExactlyOnce, badRecords, numberedInput, readCommitted } from '../../kit/exactlyOnce.ts';
import { createTopics, produceMessages, sharedKafka, type KafkaCluster } from '../../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice, type SluiceProcess } from '../../kit/sluiceProcess.ts';

// `sluice run --parallelism 2 --guarantee exactly-once` on a real broker: two consumers of one
// group in one process, each with its own per-partition transactional producers and changelog.
// Ground truth is Kafka's own Java read_committed reader (test/kit/exactlyOnce.ts): every
// (key, seq) once, counted as seq (the key counter's state neither lost nor doubled).

const JOB = 'test/fixtures/jobs/key-counter-crash.ts';
const KEYS = 40;
/** Records per key during the kills; then a last chunk once the final process runs. */
const PER_KEY = Number(process.env.SLUICE_EOS_PER_KEY ?? 600);
const LAST = 5;
const KILLS = 6;
/** The feed writes this many records per key at a time, spread evenly over FEED_MS. */
const CHUNK = 5;
const FEED_MS = 40_000;
/** Set SLUICE_TEST_GUARANTEE=at-least-once to watch these tests fail (duplicates). */
const GUARANTEE = process.env.SLUICE_TEST_GUARANTEE ?? 'exactly-once';

/** The progress lines of a run's stderr. */
function progressLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => / ev\/s \| in /.test(line));
}

/** How many partitions a progress line's lag part covers: those named, `+N more` and `N at 0`. */
function lagPartitions(line: string): number {
  const lag = /\| lag [\d,]+ \((.*)\)$/.exec(line)?.[1];
  if (lag === undefined) return 0;
  const named = lag.match(/(^|, )(p\d+|\S+\[\d+\]) \d+(,\d{3})*/g)?.length ?? 0;
  const more = Number(/\+(\d+) more/.exec(lag)?.[1] ?? 0);
  const idle = Number(/(\d+) at 0/.exec(lag)?.[1] ?? 0);
  return named + more + idle;
}

describe('--parallelism 2 --guarantee exactly-once on Kafka', () => {
  let kafka: KafkaCluster;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-eos-threads-'));

  before(async () => {
    kafka = await sharedKafka();
    const topics = [];
    for (const prefix of ['tke', 'tkf']) {
      topics.push(
        { name: `${prefix}-in`, partitions: 4 },
        { name: `${prefix}-out`, partitions: 4 },
        { name: `${prefix}-dead`, partitions: 1 },
        { name: `${prefix}-changelog`, partitions: 4, config: { 'cleanup.policy': 'compact' } },
      );
    }
    await createTopics(kafka.brokers, topics);
  });
  after(async () => {
    await killAllSluice();
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (prefix: string, ...extra: string[]) => [
    'run', JOB, '--parallelism', '2', '--brokers', kafka.brokers.join(','), '--group', `${prefix}-threads`,
    '--input-topic', `${prefix}-in`, '--output-topic', `${prefix}-out`, '--dead-letter-topic', `${prefix}-dead`, '--changelog-topic', `${prefix}-changelog`,
    '--checkpoint-interval', '100', '--max-in-flight', '1000', '--guarantee', GUARANTEE, ...extra,
  ];

  it('kill -9 of the process at random points: a read_committed reader sees every output once, counted as an uninterrupted run counts it; the summary merges event time and the progress line the lag of both threads', async () => {
    let bad = 0;
    const started = Date.now();
    const feed = (async () => {
      for (let from = 1; from <= PER_KEY; from += CHUNK) {
        const messages = numberedInput(KEYS, from, Math.min(CHUNK, PER_KEY - from + 1));
        await produceMessages(kafka.brokers, 'tke-in', messages);
        bad += badRecords(messages);
        const due = started + (FEED_MS * (from + CHUNK - 1)) / PER_KEY;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      }
    })();
    // Progress lines every 2 s (stderr is not a terminal): the last process's are checked below.
    let job: SluiceProcess = spawnSluice(args('tke'), { env: KAFKA_TEST_ENV });
    for (let kill = 0; kill < KILLS; kill += 1) {
      // A random point once a thread owns partitions: its backlog first, then the live feed.
      await job.waitForStderr(/assigned tke-in\[/, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 2800));
      assert.equal(job.child.exitCode, null, `the job ended before kill ${kill + 1}: ${job.stderr()}`);
      job.kill('SIGKILL');
      await job.exited;
      job = spawnSluice(args('tke'), { env: KAFKA_TEST_ENV });
    }
    await feed;
    const last = job;
    // Once both threads own partitions, a last chunk of fresh events (their event time is measured).
    await last.waitForStderr(/assigned tke-in\[\d,\d\][^]*assigned tke-in\[\d,\d\]/, 90_000);
    const messages = numberedInput(KEYS, PER_KEY + 1, LAST);
    await produceMessages(kafka.brokers, 'tke-in', messages);
    bad += badRecords(messages);
    const total = KEYS * (PER_KEY + LAST);
    await consumeUntil(kafka.brokers, 'tke-out', { until: (got) => got.length >= total, timeoutMs: 180_000 }).catch((error: unknown) => assert.fail(`${String(error)}; the job's log:\n${last.stderr().slice(-6000)}`));
    // One progress line holds the lag of all four partitions: two from each thread.
    await eventually('a progress line with the lag of 4 partitions', () => progressLines(last.stderr()).some((line) => lagPartitions(line) === 4), {
      timeoutMs: 30_000,
      everyMs: 500,
      detail: () => last.stderr(),
    });
    last.kill('SIGTERM');
    assert.equal((await last.exited).code, 0, last.stderr());
    assertExactlyOnce(await readCommitted(kafka.brokers, 'tke-out'), KEYS, PER_KEY + LAST);
    assert.equal((await readCommitted(kafka.brokers, 'tke-dead')).length, bad, 'every bad record dead-lettered exactly once');
    assert.match(last.stderr(), /guarantee: exactly once/);
    assert.match(last.stderr(), /\n {2}event time {2}p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms \(event timestamp → written/);
    assert.match(last.stderr(), /threads +2 stream threads, 0 restarted/);
  });

  it('a thread that throws is restarted; its uncommitted transactions are aborted and redone: nothing lost or doubled', async () => {
    const perKey = 150;
    const job = spawnSluice(args('tkf', '--no-progress', '--set', 'crashAt=100', '--set', `marker=${join(dir, 'fired')}`), { env: KAFKA_TEST_ENV });
    let bad = 0;
    try {
      await job.waitForStderr(/assigned tkf-in\[\d,\d\]/, 60_000);
      for (let from = 1; from <= perKey; from += 10) {
        const messages = numberedInput(KEYS, from, 10);
        await produceMessages(kafka.brokers, 'tkf-in', messages);
        bad += badRecords(messages);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      await job.waitForStderr(/stream thread [12] of 2 failed: uncaught (Error: )?planted fault at k0 #100 — restarting it/, 60_000);
      await consumeUntil(kafka.brokers, 'tkf-out', { until: (got) => got.length >= KEYS * perKey, timeoutMs: 120_000 }).catch((error: unknown) => assert.fail(`${String(error)}; the job's log:\n${job.stderr().slice(-6000)}`));
    } finally {
      job.kill('SIGTERM');
    }
    assert.equal((await job.exited).code, 0, job.stderr());
    assert.match(job.stderr(), /threads +2 stream threads, 1 restarted/);
    assertExactlyOnce(await readCommitted(kafka.brokers, 'tkf-out'), KEYS, perKey);
    assert.equal((await readCommitted(kafka.brokers, 'tkf-dead')).length, bad, 'every bad record dead-lettered exactly once');
  });
});
