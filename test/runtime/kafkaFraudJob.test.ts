import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonDecoder } from '../../core/decode.ts';
import { DEAD_LETTER_HEADERS } from '../../connectors/kafka/producer/kafkaDeadLetterSink.ts';
import { parseTransaction, TransactionGenerator } from '../../jobs/fraud/transactions.ts';
import { consumeAll, createTopics, produceMessages, sharedKafka, type ConsumedMessage, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, highWatermarks, KAFKA_TEST_ENV, killAllSluice, spawnSluice } from '../kit/sluiceProcess.ts';

const header = (m: ConsumedMessage, name: string): string | undefined => {
  const value = m.headers[name];
  return value === undefined ? undefined : String(value);
};

describe('the fraud job on Kafka (sluice produce, then sluice run --brokers)', () => {
  let kafka: KafkaCluster;
  const decode = jsonDecoder(parseTransaction);
  /** Input records that are valid transactions, by id. */
  const valid = new Map<string, { userId: string }>();
  /** Input records the job must dead-letter, by "partition@offset", with their bytes. */
  const invalid = new Map<string, Buffer>();
  const traced = new Map<string, string>();
  let decisions: ConsumedMessage[] = [];
  let deadLetters: ConsumedMessage[] = [];
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  let stderr = '';

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [
      { name: 'transactions', partitions: 4 },
      { name: 'fraud-decisions', partitions: 4 },
      { name: 'fraud-dead-letters', partitions: 1 },
    ]);
    const brokers = kafka.brokers.join(',');
    // The user's first command: load transactions, some of them garbage.
    const produce = spawnSluice(['produce', '--brokers', brokers, '--count', '3000', '--garbage-ratio', '0.05', '--batch-size', '1000']);
    const produced = await produce.exited;
    assert.equal(produced.code, 0, produce.stderr());
    assert.match(produce.stdout(), /produced 3,000 transactions records and \d+ garbage records to transactions/);
    // A few records that arrive with a trace context from upstream.
    const generator = new TransactionGenerator({ seed: 99 });
    const upstream = Array.from({ length: 5 }, (_, i) => {
      const tx = generator.next();
      const traceparent = `00-${String(i + 1).padStart(32, 'a')}-${'b'.repeat(16)}-01`;
      traced.set(tx.id, traceparent);
      return { key: tx.userId, value: JSON.stringify(tx), headers: { traceparent } };
    });
    await produceMessages(kafka.brokers, 'transactions', upstream);

    // What is in the input topic, judged by the job's own decoder.
    const total = [...(await highWatermarks(kafka.brokers, 'transactions')).values()].reduce((a, b) => a + b, 0);
    const inputs = await consumeAll(kafka.brokers, 'transactions', { expected: total, timeoutMs: 20_000 });
    assert.equal(inputs.length, total);
    for (const m of inputs) {
      try {
        const tx = decode(m.value!);
        valid.set(tx.id, { userId: tx.userId });
      } catch {
        invalid.set(`${m.partition}@${m.offset}`, m.value!);
      }
    }
    assert.equal(valid.size, 3005);
    assert.ok(invalid.size > 0, 'sluice produce --garbage-ratio wrote no garbage');

    // The second command: run the job on Kafka until every input has its result.
    const job = spawnSluice(['run', 'jobs/fraud-detection.ts', '--brokers', brokers, '--group', 'fraud-e2e', '--no-progress'], { env: KAFKA_TEST_ENV });
    try {
      [decisions, deadLetters] = await Promise.all([
        consumeUntil(kafka.brokers, 'fraud-decisions', {
          until: (got) => new Set(got.map((m) => (JSON.parse(m.value!.toString()) as { transactionId: string }).transactionId)).size >= valid.size,
          timeoutMs: 40_000,
        }),
        consumeUntil(kafka.brokers, 'fraud-dead-letters', { until: (got) => got.length >= invalid.size, timeoutMs: 40_000 }),
      ]);
    } finally {
      job.kill('SIGTERM');
      exit = await job.exited;
      stderr = job.stderr();
    }
  });

  after(async () => {
    await killAllSluice();
  });

  it('writes a decision for every valid transaction to fraud-decisions', () => {
    const seen = new Set<string>();
    for (const m of decisions) {
      const decision = JSON.parse(m.value!.toString()) as { transactionId: string; userId: string; score: number; flagged: boolean };
      assert.ok(valid.has(decision.transactionId), `decision for unknown transaction ${decision.transactionId}`);
      assert.equal(typeof decision.score, 'number');
      seen.add(decision.transactionId);
    }
    assert.equal(seen.size, valid.size);
  });

  it('keys decisions by user and writes the model version in a header', () => {
    for (const m of decisions) {
      const decision = JSON.parse(m.value!.toString()) as { userId: string; modelVersion: string };
      assert.equal(m.key?.toString(), decision.userId);
      assert.equal(header(m, 'model-version'), decision.modelVersion);
      assert.ok(decision.modelVersion.length > 0);
    }
  });

  it('carries the trace context of an input into its decision', () => {
    let checked = 0;
    for (const m of decisions) {
      const decision = JSON.parse(m.value!.toString()) as { transactionId: string };
      const upstream = traced.get(decision.transactionId);
      if (upstream === undefined) continue;
      const traceparent = header(m, 'traceparent');
      assert.ok(traceparent !== undefined, `decision of ${decision.transactionId} has no traceparent`);
      // Same trace; the span may be a child of the upstream one.
      assert.equal(traceparent.split('-')[1], upstream.split('-')[1]);
      checked += 1;
    }
    assert.ok(checked >= traced.size);
  });

  it('writes every bad record to fraud-dead-letters with its reason, position and original bytes', () => {
    const byPosition = new Map(deadLetters.map((m) => [`${header(m, DEAD_LETTER_HEADERS.partition)}@${header(m, DEAD_LETTER_HEADERS.offset)}`, m]));
    for (const [position, bytes] of invalid) {
      const letter = byPosition.get(position);
      assert.ok(letter !== undefined, `no dead letter for transactions ${position}`);
      assert.equal(header(letter, DEAD_LETTER_HEADERS.topic), 'transactions');
      assert.equal(header(letter, DEAD_LETTER_HEADERS.stage), 'decode');
      assert.match(header(letter, DEAD_LETTER_HEADERS.reason) ?? '', /malformed JSON|invalid record/);
      assert.deepEqual(letter.value, bytes);
    }
  });

  it('stops on SIGTERM with exit code 0 and a summary', () => {
    assert.equal(exit.code, 0, stderr);
    assert.match(stderr, /assigned transactions\[0,1,2,3\]/);
    // The summary goes to stderr with the log lines; stdout is left for records.
    assert.match(stderr, /job fraud-detection finished/);
  });
});
