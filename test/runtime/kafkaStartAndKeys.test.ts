import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTopics, produceMessages, sharedKafka, uniqueTopic, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice } from '../kit/sluiceProcess.ts';

describe('the fraud job on Kafka: start-up checks and dead letters that keep their bytes', () => {
  let kafka: KafkaCluster;
  before(async () => {
    kafka = await sharedKafka();
  });
  after(() => killAllSluice());

  it('refuses to start, in one line, when a topic it writes does not exist', async () => {
    const input = uniqueTopic('tx');
    await createTopics(kafka.brokers, [{ name: input, partitions: 1 }]);
    const missing = uniqueTopic('nowhere');
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(','), '--topic', `transactions=${input}`, '--topic', `decisions=${missing}`, '--no-progress'], { env: KAFKA_TEST_ENV });
    assert.equal((await run.exited).code, 1);
    assert.match(run.stderr().trim(), new RegExp(`^sluice: topics ${missing}, fraud-dead-letters do not exist on .* — create them \\(e\\.g\\. kafka-topics\\.sh --create --topic ${missing} --partitions 4\\), or name an existing one with --topic$`));
  });

  it('keeps a key that is not UTF-8 byte for byte in the dead letter, with the original value', async () => {
    const [input, output, dead] = [uniqueTopic('tx'), uniqueTopic('decisions'), uniqueTopic('dead')];
    await createTopics(kafka.brokers, [input, output, dead].map((name) => ({ name, partitions: 1 })));
    const key = Buffer.from([0xff, 0xfe, 0xfd]);
    const value = Buffer.from('{"id": "broken');
    await produceMessages(kafka.brokers, input, [{ key, value }]);
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(','), '--group', uniqueTopic('group'), '--input-topic', input, '--output-topic', output, '--dead-letter-topic', dead, '--no-progress', '--no-checkpoints'], { env: KAFKA_TEST_ENV });
    try {
      const [letter] = await consumeUntil(kafka.brokers, dead, { until: (got) => got.length >= 1, timeoutMs: 90_000 });
      assert.ok(letter !== undefined, run.stderr());
      assert.deepEqual(letter.key, key, 'the key bytes, not U+FFFD replacements');
      assert.deepEqual(letter.value, value, 'the original value bytes');
      assert.match(String(letter.headers['dead-letter-reason']), /^malformed JSON/);
    } finally {
      run.kill('SIGTERM');
      await run.exited;
    }
  });
});
