import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTopics, sharedKafka, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice, type SluiceProcess } from '../kit/sluiceProcess.ts';
import { countDecisions, startTransactionFeed, summaryPeakInFlight } from '../kit/transactionFeed.ts';

// A slow broker at its worst: the broker process is frozen (SIGSTOP) mid-stream, so connections
// stay open and requests neither fail nor answer until it is thawed (SIGCONT); then it answers
// everything at once, with its group session clocks jumped ahead.
const TOTAL = 20_000;
const MAX_IN_FLIGHT = 1000;
const HANG_MS = 8000;

describe('the broker hangs mid-stream and comes back', () => {
  let kafka: KafkaCluster;
  let job: SluiceProcess;
  let aliveAfterHang = false;
  let feedBehindAtHang = false;
  let decisions: Map<string, number>;
  let exit: { code: number | null };

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [{ name: 'tx', partitions: 4 }, { name: 'decisions', partitions: 4 }, { name: 'dead', partitions: 1 }]);
    job = spawnSluice(
      ['run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(','), '--group', 'hang', '--no-progress', '--parallelism', '1',
        '--input-topic', 'tx', '--output-topic', 'decisions', '--dead-letter-topic', 'dead', '--max-in-flight', String(MAX_IN_FLIGHT)],
      { env: KAFKA_TEST_ENV },
    );
    await job.waitForStderr(/assigned tx\[/, 60_000);
    const feed = startTransactionFeed(kafka.brokers, 'tx', { count: TOTAL, perSecond: 2000, retries: 60 });
    await consumeUntil(kafka.brokers, 'decisions', { until: (got) => got.length >= 1000, timeoutMs: 30_000 });
    feedBehindAtHang = feed.sent() < TOTAL;
    try {
      kafka.pause(1);
      await new Promise((resolve) => setTimeout(resolve, HANG_MS));
      kafka.resume(1);
      aliveAfterHang = job.child.exitCode === null && job.child.signalCode === null;
      await feed.done;
      const output = await consumeUntil(kafka.brokers, 'decisions', { until: (got) => countDecisions(got).size >= TOTAL, timeoutMs: 90_000 });
      decisions = countDecisions(output);
    } finally {
      kafka.resume(1);
      job.kill('SIGTERM');
      exit = await job.exited;
    }
  });

  after(async () => {
    await killAllSluice();
  });

  it('hung while input was still arriving', () => {
    assert.ok(feedBehindAtHang);
  });

  it('loses nothing: every input has its decision', () => {
    assert.equal(decisions.size, TOTAL);
  });

  it('does not crash: still running after the hang, exits 0 on SIGTERM', () => {
    assert.ok(aliveAfterHang, job.stderr());
    assert.equal(exit.code, 0, job.stderr());
  });

  it('keeps the in-flight budget while nothing can be written', () => {
    const peak = summaryPeakInFlight(job.stderr());
    assert.ok(peak !== undefined, job.stderr());
    assert.ok(peak <= MAX_IN_FLIGHT, `peak in flight ${peak} > ${MAX_IN_FLIGHT}`);
  });
});
