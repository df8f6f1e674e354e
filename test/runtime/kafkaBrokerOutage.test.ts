import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTopics, sharedKafka, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, residentBytes, spawnSluice, type SluiceProcess } from '../kit/sluiceProcess.ts';
import { countDecisions, startTransactionFeed, summaryPeakInFlight } from '../kit/transactionFeed.ts';

const TOTAL = 20_000;
const MAX_IN_FLIGHT = 1000;
const OUTAGE_MS = 5000;

describe('the broker goes down mid-stream and comes back', () => {
  let kafka: KafkaCluster;
  let job: SluiceProcess;
  let aliveAfterOutage = false;
  let feedBehindAtOutage = false;
  let decisions: Map<string, number>;
  let exit: { code: number | null };
  const rss: number[] = [];

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [{ name: 'tx', partitions: 4 }, { name: 'decisions', partitions: 4 }, { name: 'dead', partitions: 1 }]);
    job = spawnSluice(
      ['run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(','), '--group', 'outage', '--no-progress',
        '--input-topic', 'tx', '--output-topic', 'decisions', '--dead-letter-topic', 'dead', '--max-in-flight', String(MAX_IN_FLIGHT)],
      { env: KAFKA_TEST_ENV },
    );
    // Input starts once the job is in the group, so a slow start on a loaded machine cannot let
    // the feed finish before the job is stopped mid-stream.
    await job.waitForStderr(/assigned tx\[/, 60_000);
    // The feed rides out the outage too (it retries), so input keeps coming before and after.
    const feed = startTransactionFeed(kafka.brokers, 'tx', { count: TOTAL, perSecond: 2000, retries: 60 });
    await consumeUntil(kafka.brokers, 'decisions', { until: (got) => got.length >= 1000, timeoutMs: 30_000 });
    feedBehindAtOutage = feed.sent() < TOTAL;
    const sampler = setInterval(() => void residentBytes(job.pid).then((bytes) => bytes !== undefined && rss.push(bytes)), 250);
    try {
      // A real outage: the broker process is SIGKILLed, and started again on its data later
      // (the restart itself takes a few seconds more).
      await kafka.kill(1);
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await kafka.restart(1);
      aliveAfterOutage = job.child.exitCode === null && job.child.signalCode === null;
      await feed.done;
      const output = await consumeUntil(kafka.brokers, 'decisions', { until: (got) => countDecisions(got).size >= TOTAL, timeoutMs: 60_000 });
      decisions = countDecisions(output);
    } finally {
      clearInterval(sampler);
      job.kill('SIGTERM');
      exit = await job.exited;
    }
  });

  after(async () => {
    await killAllSluice();
  });

  it('went down while input was still arriving', () => {
    assert.ok(feedBehindAtOutage);
  });

  it('loses nothing: every input has its decision', () => {
    assert.equal(decisions.size, TOTAL);
  });

  it('does not crash: still running after the outage, exits 0 on SIGTERM', () => {
    assert.ok(aliveAfterOutage, job.stderr());
    assert.equal(exit.code, 0, job.stderr());
  });

  it('keeps memory bounded: never more records in flight than the budget', (t) => {
    const peak = summaryPeakInFlight(job.stderr());
    assert.ok(peak !== undefined, job.stderr());
    assert.ok(peak <= MAX_IN_FLIGHT, `peak in flight ${peak} > ${MAX_IN_FLIGHT}`);
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    t.diagnostic(`resident memory during and after the outage: ${mb(Math.min(...rss))}-${mb(Math.max(...rss))} MiB`);
    // A process that buffered instead of waiting would grow with the outage; this one stays flat.
    assert.ok(Math.max(...rss) - Math.min(...rss) < 128 * 2 ** 20);
  });
});
