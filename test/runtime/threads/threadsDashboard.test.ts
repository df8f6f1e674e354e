/**
 * `sluice run --parallelism 2 --ui` on a real broker: each stream thread collects its own
 * pipeline's view, the main thread merges them. The page must show the whole job, not one
 * thread's half: every partition, every thread's dead letters, and stage counts that add up to
 * the run's totals exactly once the input is read. Run under `flock /tmp/heavy.lock`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventuallyValue } from '../../kit/eventually.ts';
import { createTopics, produceMessages, sharedKafka, uniqueTopic, type KafkaCluster } from '../../kit/kafka.ts';
import { KAFKA_TEST_ENV, killAllSluice, spawnSluice, type SluiceProcess } from '../../kit/sluiceProcess.ts';
import { startTransactionFeed } from '../../kit/transactionFeed.ts';
import type { JobView, MetricsView } from '../../../runtime/ui/api.ts';

const PARTITIONS = 4;
const TRANSACTIONS = 9000;
const BUDGET = 500;

async function api<T>(base: string, path: string): Promise<T> {
  const response = await fetch(new URL(path, base));
  assert.equal(response.status, 200, path);
  return (await response.json()) as T;
}

describe('the dashboard of a job on two stream threads', () => {
  let kafka: KafkaCluster;
  let job: SluiceProcess | undefined;
  let url: string;
  /** The largest latency window any poll saw, and the last view once the input was read. */
  let busiestWindow = 0;
  let settled: MetricsView;
  const topics = { input: uniqueTopic('ui2-in'), output: uniqueTopic('ui2-out'), dead: uniqueTopic('ui2-dead') };

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [
      { name: topics.input, partitions: PARTITIONS },
      { name: topics.output, partitions: PARTITIONS },
      { name: topics.dead, partitions: 1 },
    ]);
    // One malformed record on every partition: each thread dead-letters the ones of its partitions.
    await produceMessages(kafka.brokers, topics.input, Array.from({ length: PARTITIONS }, (_, partition) => ({ key: `bad-${partition}`, value: '{"id":', partition })));
    job = spawnSluice(
      [
        'run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(','), '--group', uniqueTopic('ui2-group'),
        '--input-topic', topics.input, '--output-topic', topics.output, '--dead-letter-topic', topics.dead,
        '--parallelism', '2', '--workers', '2', '--max-in-flight', String(BUDGET), '--no-checkpoints', '--no-progress', '--no-typecheck', '--ui', '0', '--metrics-port', '0',
      ],
      { env: KAFKA_TEST_ENV },
    );
    [, url] = (await job.waitForStderr(/dashboard: (http:\/\/\S+)/, 90_000)) as [string, string];
    const feed = startTransactionFeed(kafka.brokers, topics.input, { count: TRANSACTIONS, perSecond: 3000, batchSize: 300 });
    await feed.done;
    // Poll until the page counts every record: the threads' views arrive once a second each, so
    // the merged counts converge on the totals (a page showing one thread's view never gets there).
    const complete = (view: MetricsView) =>
      view.totals.in === TRANSACTIONS + PARTITIONS && view.deadLetters.total === PARTITIONS && view.model.stages[0]?.records === TRANSACTIONS && view.stages.find((s) => s.name === 'features')?.records === TRANSACTIONS;
    const poll = async () => {
      const view = await api<MetricsView>(url, '/api/metrics');
      busiestWindow = Math.max(busiestWindow, view.latency.window.count);
      return view;
    };
    await eventuallyValue('the dashboard to count every record', poll, complete, {
      timeoutMs: 90_000,
      everyMs: 500,
      detail: (view) => `in ${view.totals.in}, scored ${view.model.stages[0]?.records}, dead letters ${view.deadLetters.total}\n${job?.stderr() ?? ''}`,
    });
    // Then for a few more ticks, to catch a count that goes on past the totals (a view counted twice).
    for (let tick = 0; tick < 3; tick += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      settled = await api<MetricsView>(url, '/api/metrics');
    }
  });

  after(async () => {
    job?.kill('SIGTERM');
    await job?.exited;
    await killAllSluice();
  });

  it('says the job runs on both threads, with their budgets and worker threads added up', async () => {
    const view = await api<JobView>(url, '/api/job');
    assert.equal(view.state, 'running');
    assert.equal(view.budget, 2 * BUDGET);
    assert.equal(view.workers, 2);
    for (const stage of ['features', 'infer', 'decision']) assert.ok(view.graph.stages.includes(stage), view.graph.stages.join(', '));
    assert.ok(view.io.some((line) => /^stream threads: 2/.test(line)), view.io.join('\n'));
  });

  it('serves the threads\' merged Prometheus metrics at /metrics on its own port too', async () => {
    const text = await (await fetch(new URL('/metrics', url))).text();
    const recordsIn = text.split('\n').filter((line) => line.startsWith('sluice_records_in_total'));
    assert.equal(recordsIn.length, 1, text);
    // Both threads' counters added up: all the input, which one thread alone never read.
    assert.equal(Number(recordsIn[0]!.split(' ').at(-1)), TRANSACTIONS + PARTITIONS);
  });

  it('counts every record once: the stages of both threads add up to the run\'s totals', () => {
    assert.equal(settled.model.stages[0]!.records, TRANSACTIONS, 'records scored, both threads');
    const features = settled.stages.find((s) => s.name === 'features')!;
    assert.equal(features.records, TRANSACTIONS);
    assert.equal(settled.totals.out, TRANSACTIONS);
    assert.ok(busiestWindow > 0, 'a second\'s latency window had records');
    assert.ok(settled.latency.total.count >= TRANSACTIONS, `whole-run latency over ${settled.latency.total.count} records`);
    // The threads' histogram buckets are for the merge only, not for the page.
    assert.doesNotMatch(JSON.stringify(settled), /buckets/);
  });

  it('lists every partition and every thread\'s dead letters', () => {
    assert.deepEqual(settled.partitions.map((p) => p.partition), [0, 1, 2, 3]);
    assert.deepEqual(settled.partitions.map((p) => p.lag), [0, 0, 0, 0]);
    assert.deepEqual(settled.deadLetters.recent.map((d) => d.partition).sort(), [0, 1, 2, 3]);
    for (const letter of settled.deadLetters.recent) assert.match(letter.reason, /malformed JSON/);
  });

  it('ends cleanly on SIGTERM, with the dashboard line among the start-up lines', async () => {
    job!.kill('SIGTERM');
    const { code } = await job!.exited;
    assert.equal(code, 0, job!.stderr());
    assert.match(job!.stderr(), /stream threads: 2/);
    assert.match(job!.stderr(), /2 stream threads, 0 restarted/);
  });
});
