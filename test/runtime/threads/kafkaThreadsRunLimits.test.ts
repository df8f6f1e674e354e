import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTopics, produceMessages, sharedKafka, type KafkaCluster } from '../../kit/kafka.ts';
import { committedOffsets, highWatermarks, KAFKA_TEST_ENV, killAllSluice, spawnSluice, type SluiceProcess } from '../../kit/sluiceProcess.ts';
import { summaryIn } from '../../kit/transactionFeed.ts';

// --until-caught-up and --max-records with --parallelism 2: the threads share one count of
// records taken and the main thread ends the run once every partition's backlog is read.

const GROUP = 'threads-limits';
const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
const numbered = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ key: `k${(from + i) % 37}`, value: JSON.stringify({ key: `k${(from + i) % 37}`, seq: from + i }) }));

/** The run's exit, or a failure with its log if it does not end by itself. */
async function endsByItself(run: SluiceProcess, timeoutMs = 90_000) {
  const exit = await Promise.race([run.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs))]);
  if (exit === 'timeout') {
    run.kill('SIGKILL');
    assert.fail(`the run did not end by itself: ${run.stderr()}`);
  }
  return exit;
}

describe('a run of two stream threads that ends by itself', () => {
  let kafka: KafkaCluster;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-threads-limits-'));
  const args = () => ['run', 'test/fixtures/jobs/key-counter.ts', '--brokers', kafka.brokers.join(','), '--group', GROUP, '--input-topic', 'tl-in', '--output-topic', 'tl-out', '--dead-letter-topic', 'tl-dead', '--no-checkpoints', '--parallelism', '2', '--no-progress'];

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [{ name: 'tl-in', partitions: 4 }, { name: 'tl-out', partitions: 4 }, { name: 'tl-dead', partitions: 1 }]);
    await produceMessages(kafka.brokers, 'tl-in', numbered(0, 3000));
  });

  after(async () => {
    await killAllSluice();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--until-caught-up reads the backlog there was at the start in both threads, commits it and exits 0', async () => {
    const run = spawnSluice([...args(), '--until-caught-up'], { env: KAFKA_TEST_ENV });
    assert.equal((await endsByItself(run)).code, 0, run.stderr());
    assert.equal(summaryIn(run.stderr()), 3000, run.stderr());
    assert.match(run.stderr(), /threads +2 stream threads/);
    assert.deepEqual(await committedOffsets(kafka.brokers, GROUP, 'tl-in'), await highWatermarks(kafka.brokers, 'tl-in'), 'everything read was committed');
    assert.equal(sum((await highWatermarks(kafka.brokers, 'tl-out')).values()), 3000);
  });

  it('--max-records N: the threads take exactly N records together, commit exactly them and exit 0', async () => {
    await produceMessages(kafka.brokers, 'tl-in', numbered(3000, 2000));
    const before = sum((await committedOffsets(kafka.brokers, GROUP, 'tl-in')).values());
    const run = spawnSluice([...args(), '--max-records', '1250'], { env: KAFKA_TEST_ENV });
    assert.equal((await endsByItself(run)).code, 0, run.stderr());
    assert.equal(summaryIn(run.stderr()), 1250, run.stderr());
    assert.equal(sum((await committedOffsets(kafka.brokers, GROUP, 'tl-in')).values()) - before, 1250, 'the commit covers the records taken and no more');
    assert.equal(sum((await highWatermarks(kafka.brokers, 'tl-out')).values()), 4250);
  });

  it('--max-records N embedded: exactly N records of the file, shared by the two threads', async () => {
    const input = join(dir, 'numbered.jsonl');
    const output = join(dir, 'counted.jsonl');
    writeFileSync(input, numbered(0, 5000).map((m) => m.value + '\n').join(''));
    const run = spawnSluice(['run', 'test/fixtures/jobs/key-counter-crash.ts', '--parallelism', '2', '--no-progress', '--input', `numbered=${input}`, '--output', `counted=${output}`, '--max-records', '777']);
    assert.equal((await endsByItself(run)).code, 0, run.stderr());
    assert.equal(summaryIn(run.stderr()), 777, run.stderr());
    assert.equal(readFileSync(output, 'utf8').split('\n').filter((line) => line !== '').length, 777);
  });
});
