import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../kit/files.ts';
import { connectionFailure, describeKafkaSecurity, kafkaSecurity } from '../../../connectors/kafka/security.ts';
import { InvalidOptionError } from '../../../core/errors.ts';

const dir = tempDir('sluice-security-');
const pem = join(dir, 'ca.pem');
writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const passwordFile = join(dir, 'password');
writeFileSync(passwordFile, 'from-a-file\n');
const settings = { brokers: ['kafka:9093'], groupId: 'g', clientId: 'c', start: 'earliest' as const };

describe('Kafka connection security from flags and environment', () => {
  it('is plaintext when nothing is set', () => {
    assert.equal(kafkaSecurity({}, {}), undefined);
    assert.equal(describeKafkaSecurity(undefined), 'plaintext (no TLS, no SASL)');
  });

  it('reads the CA file and the password from the environment or a file', () => {
    const security = kafkaSecurity({ caFile: pem, saslMechanism: 'SCRAM-SHA-512', username: 'job' }, { KAFKA_SASL_PASSWORD: 's3cret' });
    assert.deepEqual(security, { tls: { ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' }, sasl: { mechanism: 'scram-sha-512', username: 'job', password: 's3cret' } });
    assert.equal(kafkaSecurity({}, { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD_FILE: passwordFile })?.sasl?.password, 'from-a-file');
    assert.deepEqual(kafkaSecurity({}, { KAFKA_TLS: 'true' }), { tls: {} });
  });

  it('never puts a secret in the start-up line', () => {
    const line = describeKafkaSecurity({ tls: { ca: 'x', cert: 'y', key: 'z' }, sasl: { mechanism: 'plain', username: 'job', password: 'hunter2' } });
    assert.equal(line, 'SASL plain as job, TLS (CA file) with a client certificate');
  });

  it('refuses incomplete settings in one line that names the flag', () => {
    const refused = (flags: Parameters<typeof kafkaSecurity>[0], env: NodeJS.ProcessEnv, pattern: RegExp) =>
      assert.throws(() => kafkaSecurity(flags, env), (error: Error) => error instanceof InvalidOptionError && pattern.test(error.message) && !error.message.includes('\n'));
    refused({ saslMechanism: 'scram-sha-256', username: 'u' }, {}, /needs a password: KAFKA_SASL_PASSWORD, or --kafka-password-file/);
    refused({ saslMechanism: 'scram-sha-256' }, { KAFKA_SASL_PASSWORD: 'p' }, /needs a user: --kafka-user/);
    refused({ saslMechanism: 'gssapi', username: 'u' }, { KAFKA_SASL_PASSWORD: 'p' }, /--kafka-sasl must be one of plain, scram-sha-256, scram-sha-512/);
    refused({ username: 'u' }, {}, /needs a mechanism: --kafka-sasl/);
    refused({ certFile: pem }, {}, /needs both --kafka-cert and --kafka-key/);
    refused({ caFile: join(dir, 'missing.pem') }, {}, /--kafka-ca .*missing\.pem: cannot read it \(ENOENT\)/);
    refused({ caFile: passwordFile }, {}, /is not a PEM file/);
  });

  it('turns refused logins and untrusted certificates into lines that say what to check', () => {
    const login = connectionFailure({ ...settings, security: { sasl: { mechanism: 'scram-sha-256', username: 'job', password: 'p' } } }, Object.assign(new Error('SASL SCRAM SHA256 authentication failed'), { name: 'KafkaJSSASLAuthenticationError' }));
    assert.match(login.message, /^Kafka at kafka:9093 refused the login as job \(scram-sha-256\): SASL SCRAM SHA256 authentication failed — check KAFKA_SASL_USERNAME/);
    const tls = connectionFailure(settings, Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), { name: 'KafkaJSConnectionError' }));
    assert.match(tls.message, /^TLS with Kafka at kafka:9093 failed: .*self-signed.* — check --kafka-ca/);
    const down = connectionFailure(settings, Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' }));
    assert.match(down.message, /^cannot reach Kafka at kafka:9093/);
  });
});
