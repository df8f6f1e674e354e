/**
 * `sluice run` against secured brokers of the kit: SCRAM-SHA-256 over SASL_PLAINTEXT and TLS
 * with a CA made by openssl in the test. The right settings move records; a wrong password or
 * an untrusted certificate is one line and exit 1; the password never appears in the output.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { SCRAM_USER } from '../kit/kafkaJars.ts';
import { consumeAll, createTopics, produceMessages, startKafka, type KafkaCluster, type StartKafkaOptions } from '../kit/kafka.ts';
import { KAFKA_TEST_ENV, killAllSluice, spawnSluice } from '../kit/sluiceProcess.ts';

async function cluster(t: TestContext, options: StartKafkaOptions): Promise<KafkaCluster> {
  const started = await startKafka(options);
  t.after(() => started.stop());
  return started;
}

const TOPICS = [{ name: 'numbered', partitions: 2 }, { name: 'counted', partitions: 2 }, { name: 'key-counter-dead-letters', partitions: 1 }];
const INPUT = Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: JSON.stringify({ key: `k${i % 5}`, seq: Math.floor(i / 5) + 1 }) }));
const job = (kafka: KafkaCluster, ...extra: string[]) => ['run', 'test/fixtures/jobs/key-counter.ts', '--brokers', kafka.brokers.join(','), '--no-progress', '--parallelism', '1', '--no-checkpoints', '--no-typecheck', ...extra];

describe('sluice run on secured Kafka', { timeout: 240_000 }, () => {
  after(() => killAllSluice());

  test('SCRAM-SHA-256: the user gets in; a wrong password is one line, and no password is printed', async (t) => {
    const kafka = await cluster(t, { security: 'scram' });
    await createTopics(kafka.brokers, TOPICS, kafka.client);
    await produceMessages(kafka.brokers, 'numbered', INPUT, { security: kafka.client });
    const run = spawnSluice(job(kafka, '--kafka-sasl', 'scram-sha-256', '--kafka-user', SCRAM_USER.username), { env: { ...KAFKA_TEST_ENV, KAFKA_SASL_PASSWORD: SCRAM_USER.password } });
    const out = await consumeAll(kafka.brokers, 'counted', { expected: INPUT.length, timeoutMs: 60_000, security: kafka.client });
    assert.equal(out.length, INPUT.length);
    await run.waitForStderr(/output counted: Kafka topic/, 10_000);
    assert.match(run.stderr(), /kafka connection: SASL scram-sha-256 as sluice, no TLS/);
    run.kill('SIGTERM');
    assert.equal((await run.exited).code, 0, run.stderr());
    assert.ok(!run.stderr().includes(SCRAM_USER.password), 'the password was printed');

    const wrong = spawnSluice(job(kafka, '--kafka-sasl', 'scram-sha-256', '--kafka-user', SCRAM_USER.username), { env: { ...KAFKA_TEST_ENV, KAFKA_SASL_PASSWORD: 'not-the-password' } });
    const exit = await wrong.exited;
    assert.equal(exit.code, 1, wrong.stderr());
    const lines = wrong.stderr().trim().split('\n');
    assert.equal(lines.length, 1, wrong.stderr());
    assert.match(lines[0]!, /^sluice: Kafka at .* refused the login as sluice \(scram-sha-256\): .* — check KAFKA_SASL_USERNAME \/ KAFKA_SASL_PASSWORD/);
    assert.ok(!wrong.stderr().includes('not-the-password'));
  });

  test('TLS: with the CA file records flow; without it the certificate is refused in one line', async (t) => {
    const kafka = await cluster(t, { security: 'tls' });
    await createTopics(kafka.brokers, TOPICS, kafka.client);
    await produceMessages(kafka.brokers, 'numbered', INPUT, { security: kafka.client });
    const dir = await mkdtemp(join(tmpdir(), 'sluice-tls-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, kafka.tls!.caPem);
    const run = spawnSluice(job(kafka, '--kafka-ca', caFile), { env: KAFKA_TEST_ENV });
    const out = await consumeAll(kafka.brokers, 'counted', { expected: INPUT.length, timeoutMs: 60_000, security: kafka.client });
    assert.equal(out.length, INPUT.length);
    await run.waitForStderr(/kafka connection: TLS \(CA file\)/, 10_000);
    run.kill('SIGTERM');
    assert.equal((await run.exited).code, 0, run.stderr());

    // TLS trusting only the system CAs: the test CA is not one of them.
    const untrusted = spawnSluice(job(kafka, '--kafka-tls'), { env: KAFKA_TEST_ENV });
    assert.equal((await untrusted.exited).code, 1, untrusted.stderr());
    const lines = untrusted.stderr().trim().split('\n');
    assert.equal(lines.length, 1, untrusted.stderr());
    assert.match(lines[0]!, /^sluice: TLS with Kafka at .* failed: .*(certificate|self.signed).* — check --kafka-ca/);
  });

  test('mutual TLS: with a client certificate records flow; without one the broker refuses in one line', async (t) => {
    const kafka = await cluster(t, { security: 'mtls' });
    await createTopics(kafka.brokers, TOPICS, kafka.client);
    await produceMessages(kafka.brokers, 'numbered', INPUT, { security: kafka.client });
    const dir = await mkdtemp(join(tmpdir(), 'sluice-mtls-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const [caFile, certFile, keyFile] = ['ca.pem', 'client.crt', 'client.key'].map((name) => join(dir, name)) as [string, string, string];
    await Promise.all([writeFile(caFile, kafka.tls!.caPem), writeFile(certFile, kafka.tls!.clientCertPem), writeFile(keyFile, kafka.tls!.clientKeyPem)]);
    const run = spawnSluice(job(kafka, '--kafka-ca', caFile, '--kafka-cert', certFile, '--kafka-key', keyFile), { env: KAFKA_TEST_ENV });
    const out = await consumeAll(kafka.brokers, 'counted', { expected: INPUT.length, timeoutMs: 60_000, security: kafka.client });
    assert.equal(out.length, INPUT.length);
    await run.waitForStderr(/kafka connection: TLS \(CA file\) with a client certificate/, 10_000);
    run.kill('SIGTERM');
    assert.equal((await run.exited).code, 0, run.stderr());
    assert.ok(!run.stderr().includes('PRIVATE KEY'), 'the key was printed');

    // The same CA but no client certificate: the broker requires one.
    const anonymous = spawnSluice(job(kafka, '--kafka-ca', caFile), { env: KAFKA_TEST_ENV });
    assert.equal((await anonymous.exited).code, 1, anonymous.stderr());
    const lines = anonymous.stderr().trim().split('\n');
    assert.equal(lines.length, 1, anonymous.stderr());
    assert.match(lines[0]!, /^sluice: TLS with Kafka at .* failed: .* — check --kafka-ca .*--kafka-cert \/ --kafka-key/);
  });
});
