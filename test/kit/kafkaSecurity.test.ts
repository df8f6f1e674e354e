/**
 * Secured test clusters: SASL_PLAINTEXT with SCRAM-SHA-256 and TLS with certificates made in
 * the test. kafkajs gets in with the kit's credentials and is refused without them.
 * Run: npx tsx --test --test-force-exit test/kit/kafkaSecurity.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';

import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

import { SCRAM_USER } from './kafkaJars.ts';
import { clientSecurity } from './kafkaSecurity.ts';
import { consumeAll, createTopics, produceMessages, startKafka, uniqueTopic, type KafkaCluster, type StartKafkaOptions } from './kafka.ts';

async function cluster(t: TestContext, options: StartKafkaOptions): Promise<KafkaCluster> {
  const started = await startKafka(options);
  t.diagnostic(`${options.security ?? 'plain'} cluster answered after ${started.startMs} ms`);
  t.after(() => started.stop());
  return started;
}

/** A client that gives up at once, so a refused connection fails the test quickly. */
function impatient(brokers: string[], security: Pick<KafkaConfig, 'ssl' | 'sasl'>): Kafka {
  return new Kafka({ clientId: 'sluice-test-refused', brokers, ...security, logLevel: logLevel.NOTHING, connectionTimeout: 2000, retry: { retries: 0 } });
}

const opts = { timeout: 90_000 };

describe('secured Kafka test clusters', () => {
  test('SCRAM-SHA-256: the kit user produces and consumes; a wrong password is refused', opts, async (t) => {
    const kafka = await cluster(t, { security: 'scram' });
    assert.equal(kafka.client.sasl?.mechanism, 'scram-sha-256');
    const topic = uniqueTopic('scram');
    await createTopics(kafka.brokers, [{ name: topic, partitions: 2 }], kafka.client);
    await produceMessages(kafka.brokers, topic, [{ key: 'k', value: 'secret' }], { security: kafka.client });
    const got = await consumeAll(kafka.brokers, topic, { expected: 1, timeoutMs: 20_000, security: kafka.client });
    assert.equal(got[0]?.value?.toString(), 'secret');

    const wrong = impatient(kafka.brokers, clientSecurity('scram', undefined, `${SCRAM_USER.password}-wrong`)).admin();
    await assert.rejects(wrong.connect(), (error: Error) => {
      assert.match(error.message, /SASL SCRAM SHA256 authentication failed|Authentication failed/i);
      return true;
    });
    // The listener speaks SASL only: a plaintext client without credentials does not get in.
    const anonymous = impatient(kafka.brokers, {}).admin();
    t.after(() => anonymous.disconnect());
    await assert.rejects(
      (async () => {
        await anonymous.connect();
        await anonymous.listTopics();
      })(),
    );
  });

  test('TLS: a client trusting the test CA gets in; one that does not is refused', opts, async (t) => {
    const kafka = await cluster(t, { security: 'tls' });
    assert.match(kafka.tls?.caPem ?? '', /BEGIN CERTIFICATE/);
    const topic = uniqueTopic('tls');
    await createTopics(kafka.brokers, [{ name: topic, partitions: 1 }], kafka.client);
    await produceMessages(kafka.brokers, topic, [{ value: 'over tls' }], { security: kafka.client });
    const got = await consumeAll(kafka.brokers, topic, { expected: 1, timeoutMs: 20_000, security: kafka.client });
    assert.equal(got[0]?.value?.toString(), 'over tls');

    // Node's default trust store does not know the test CA.
    const untrusting = impatient(kafka.brokers, { ssl: true }).admin();
    await assert.rejects(untrusting.connect(), (error: Error) => {
      assert.match(error.message, /self[- ]signed|unable to verify|certificate/i);
      return true;
    });
  });
});
