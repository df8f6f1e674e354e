import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Partitioners } from 'kafkajs';
import { assertExactlyOnceOfInput, badRecords, describeTransactions, numberedInput, readCommitted } from '../kit/exactlyOnce.ts';
import { createTestKafka, createTopics, startKafka, type ConsumedMessage, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice } from '../kit/sluiceProcess.ts';

const KEYS = 40;
const PER_KEY = 500;
const FEED_MS = 30_000;
const MAX_IN_FLIGHT = 2000;

describe('a 3-node cluster loses a broker mid-stream', { timeout: 600_000 }, () => {
  let kafka: KafkaCluster;
  before(async () => {
    kafka = await startKafka({ nodes: 3 });
  });
  after(async () => {
    await killAllSluice();
    await kafka?.stop();
  });

  /**
   * The key-counter job under `guarantee` while node `victim` is killed 5 s in and restarted 8 s
   * later; a run that exits is started again, as a supervisor would. Returns what the input and
   * output topics hold (read by Kafka's own read_committed reader) once every good input has an
   * output.
   */
  async function throughFailover(t: TestContext, prefix: string, guarantee: 'exactly-once' | 'at-least-once', victim: number) {
    const [input, output, dead, changelog] = ['in', 'out', 'dead', 'changelog'].map((name) => `${prefix}-${name}`) as [string, string, string, string];
    // Replicated 3 times, writes need 2 in sync: one broker may die without losing a committed record.
    const config = { 'min.insync.replicas': '2' };
    await createTopics(kafka.brokers, [
      { name: input, partitions: 4, config },
      { name: output, partitions: 4, config },
      { name: dead, partitions: 1, config },
      { name: changelog, partitions: 4, config: { ...config, 'cleanup.policy': 'compact' } },
    ]);
    const args = [
      'run', 'test/fixtures/jobs/key-counter.ts', '--brokers', kafka.brokers.join(','), '--group', prefix, '--no-progress', '--parallelism', '1',
      '--input-topic', input, '--output-topic', output, '--dead-letter-topic', dead, '--changelog-topic', changelog,
      '--checkpoint-interval', '100', '--max-in-flight', String(MAX_IN_FLIGHT), '--guarantee', guarantee,
    ];
    // One idempotent producer for the whole feed, connected before the kill: a send retried
    // across the failover must not write the input twice (a plain producer's retry can), and a
    // producer connecting while the broker is down would fail its InitProducerId.
    const feeder = createTestKafka(kafka.brokers, { clientId: `${prefix}-feed`, retries: 30 }).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await feeder.connect();
    t.after(() => feeder.disconnect());
    const started = Date.now();
    const feed = (async () => {
      for (let from = 1; from <= PER_KEY; from += 5) {
        await feeder.send({ topic: input, acks: -1, messages: numberedInput(KEYS, from, 5) });
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (FEED_MS * (from + 4)) / PER_KEY - Date.now())));
      }
    })();
    // Like a supervisor: a run that stops (a write or commit that failed past kafkajs' retries
    // ends it with exit 1, its open transactions aborted) is started again.
    // A send or commit left without an answer fails the run at the transaction timeout, and the
    // supervisor below restarts it: 30 s rather than 60 s, so that it does inside this test's budget.
    const env = { ...KAFKA_TEST_ENV, SLUICE_KAFKA_TRANSACTION_TIMEOUT_MS: '30000' };
    let job = spawnSluice(args, { env });
    const stops: string[] = [];
    let supervising = true;
    const supervisor = (async () => {
      while (supervising) {
        const exit = await job.exited;
        if (!supervising) return;
        stops.push(`exit ${exit.code ?? exit.signal}: ${job.stderr().trim().split('\n').filter((line) => line.startsWith('sluice:')).at(-1) ?? ''}`);
        job = spawnSluice(args, { env });
      }
    })();
    await job.waitForStderr(new RegExp(`assigned ${input}\\[0,1,2,3\\]`), 60_000);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await kafka.kill(victim);
    await new Promise((resolve) => setTimeout(resolve, 8000));
    await kafka.restart(victim);
    await feed;
    // Judged against what the input topic holds, so that a record the feed lost in the failover
    // is reported as the feed's, not blamed on the job.
    const inputs = await readCommitted(kafka.brokers, input);
    const good = inputs.filter((m) => !m.value!.toString().startsWith('{broken')).length;
    const distinct = (got: readonly ConsumedMessage[]) => new Set(got.map((m) => `${m.key?.toString()}:${JSON.parse(m.value!.toString()).seq}`)).size;
    await consumeUntil(kafka.brokers, output, { until: (got) => distinct(got) >= good, timeoutMs: 120_000 }).catch(async (error: Error) => {
      const brokers = await describeTransactions(kafka.brokers, prefix, [input, output, dead, changelog]);
      // The job's own last lines first: CI shows only the start of a long message.
      const stderr = job.stderr().split('\n').filter((l) => l.trim() !== '' && !/Response|ECONNREFUSED/.test(l));
      throw new Error(`${error.message}; inputs ${inputs.length} (${good} good); stops: ${stops.join(' | ')}\nthe job's last stderr lines:\n${stderr.slice(-15).join('\n')}\nthe brokers:\n${brokers}\nthe job's whole stderr:\n${stderr.join('\n')}`);
    });
    supervising = false;
    await job.waitForStderr(/output counted: Kafka topic/, 60_000);
    job.kill('SIGTERM');
    assert.equal((await job.exited).code, 0, job.stderr());
    await supervisor;
    t.diagnostic(`runs that stopped and were restarted: ${stops.length}${stops.length > 0 ? ` (${stops.join(' | ')})` : ''}`);
    return { inputs, good, outputs: await readCommitted(kafka.brokers, output), deadLetters: await readCommitted(kafka.brokers, dead) };
  }

  it('exactly-once: a read_committed reader sees every output once after a broker is killed and restarted', async (t) => {
    const { inputs, good, outputs, deadLetters } = await throughFailover(t, 'fo', 'exactly-once', 2);
    const missingFromInput = assertExactlyOnceOfInput(outputs, inputs, KEYS, PER_KEY);
    t.diagnostic(`input: ${inputs.length} records (${badRecords(inputs.map((m) => ({ value: m.value!.toString() })))} bad); acknowledged to the feed but not in the input topic: ${missingFromInput.length}${missingFromInput.length > 0 ? ` (${missingFromInput.slice(0, 8).join(', ')})` : ''}`);
    assert.equal(deadLetters.length, inputs.length - good, 'every bad record dead-lettered exactly once');
  });

  it('at-least-once: every input has its output after a broker is killed and restarted, repeats within the budget', async (t) => {
    const { inputs, good, outputs } = await throughFailover(t, 'alo', 'at-least-once', 3);
    const seen = new Map<string, number>();
    for (const m of outputs) {
      const { key, seq } = JSON.parse(m.value!.toString()) as { key: string; seq: number };
      seen.set(`${key}#${seq}`, (seen.get(`${key}#${seq}`) ?? 0) + 1);
    }
    const lost = inputs
      .filter((m) => !m.value!.toString().startsWith('{broken'))
      .map((m) => JSON.parse(m.value!.toString()) as { key: string; seq: number })
      .filter(({ key, seq }) => !seen.has(`${key}#${seq}`));
    assert.equal(lost.length, 0, `${lost.length} inputs without an output, e.g. ${lost.slice(0, 5).map(({ key, seq }) => `${key}#${seq}`).join(', ')}`);
    const repeats = outputs.length - seen.size;
    t.diagnostic(`outputs ${outputs.length} for ${good} good inputs: ${repeats} repeated`);
    assert.ok(repeats <= MAX_IN_FLIGHT, `${repeats} repeated outputs > the in-flight budget ${MAX_IN_FLIGHT}`);
  });
});
