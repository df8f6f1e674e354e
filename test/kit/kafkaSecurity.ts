/**
 * Secured client listeners for the test broker: SASL_PLAINTEXT with SCRAM-SHA-256 (user
 * {@link SCRAM_USER}, created when the storage is formatted) or TLS with a CA and a server
 * certificate made by openssl in the cluster's temp folder. Only the listener clients use is
 * secured; brokers and controllers talk plaintext among themselves on listeners of their own.
 *
 * @example
 * ```ts
 * const tls = await makeTlsMaterial(dir);
 * const props = clientListenerProperties('tls', tls);
 * const kafka = new Kafka({ brokers, ssl: { ca: [tls.caPem] } });
 * ```
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { SASLOptions } from 'kafkajs';

import { KafkaKitError, SCRAM_USER } from './kafkaJars.ts';

const execFileAsync = promisify(execFile);

/** How the listener that clients use is secured; `mtls` also requires a client certificate signed by the CA. */
export type KafkaSecurity = 'none' | 'scram' | 'tls' | 'mtls';

/** Certificates of a TLS test cluster. */
export interface TlsMaterial {
  /** The CA certificate (PEM) that signed the broker's certificate; clients trust it. */
  caPem: string;
  /** Broker key and certificate chain in one PEM file (Kafka's `ssl.keystore.type=PEM`). */
  keystorePath: string;
  /** The CA certificate's file: the broker's trust store when it requires client certificates. */
  caPath: string;
  /** A client key and certificate signed by the CA (PEM), for mutual TLS. */
  clientKeyPem: string;
  clientCertPem: string;
}

/**
 * Makes a throwaway CA and a broker certificate for 127.0.0.1 / localhost (valid two days) in
 * `dir` with openssl.
 *
 * @example
 * ```ts
 * const { caPem } = await makeTlsMaterial(tmpDir);
 * ```
 */
export async function makeTlsMaterial(dir: string): Promise<TlsMaterial> {
  const file = (name: string): string => join(dir, name);
  const run = async (args: string[]): Promise<void> => {
    try {
      await execFileAsync('openssl', args, { cwd: dir });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? String(err);
      throw new KafkaKitError(`openssl ${args[0]} failed while making test certificates (is openssl installed?): ${stderr.trim()}`);
    }
  };
  await writeFile(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=sluice-test-ca']);
  await run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=localhost']);
  await run([
    'x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'broker.crt', '-days', '2', '-extfile', 'san.ext',
  ]);
  // -nodes writes an unencrypted PKCS#8 key ("BEGIN PRIVATE KEY"), the form Kafka's PEM store reads.
  await run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=sluice-test-client']);
  await run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2']);
  const [key, cert, caPem, clientKeyPem, clientCertPem] = await Promise.all(['broker.key', 'broker.crt', 'ca.pem', 'client.key', 'client.crt'].map((n) => readFile(file(n), 'utf8')));
  const keystorePath = file('broker-keystore.pem');
  await writeFile(keystorePath, `${key!.trim()}\n${cert!.trim()}\n${caPem!.trim()}\n`);
  return { caPem: caPem!, keystorePath, caPath: file('ca.pem'), clientKeyPem: clientKeyPem!, clientCertPem: clientCertPem! };
}

/**
 * server.properties lines that secure the listener named CLIENT.
 *
 * @example
 * ```ts
 * clientListenerProperties('scram') // ['listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-256', ...]
 * ```
 */
export function clientListenerProperties(security: KafkaSecurity, tls?: TlsMaterial): string[] {
  switch (security) {
    case 'none':
      return [];
    case 'scram':
      return [
        'sasl.enabled.mechanisms=SCRAM-SHA-256',
        'listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-256',
        'listener.name.client.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      ];
    case 'tls':
    case 'mtls':
      if (tls === undefined) throw new KafkaKitError('a TLS listener needs certificates: call makeTlsMaterial first');
      return [
        'listener.name.client.ssl.keystore.type=PEM',
        `listener.name.client.ssl.keystore.location=${tls.keystorePath}`,
        ...(security === 'mtls'
          ? ['listener.name.client.ssl.truststore.type=PEM', `listener.name.client.ssl.truststore.location=${tls.caPath}`, 'listener.name.client.ssl.client.auth=required']
          : ['listener.name.client.ssl.client.auth=none']),
      ];
  }
}

/** The security protocol Kafka names for the CLIENT listener. */
export function clientProtocol(security: KafkaSecurity): string {
  return { none: 'PLAINTEXT', scram: 'SASL_PLAINTEXT', tls: 'SSL', mtls: 'SSL' }[security];
}

/** What a kafkajs client needs to reach a secured test cluster (spread into `new Kafka({...})`). */
export interface KafkaClientSecurity {
  ssl?: { ca: string[]; servername?: string; cert?: string; key?: string };
  sasl?: SASLOptions;
}

/**
 * kafkajs options for a cluster's client listener; `password` overrides the SCRAM password
 * (for tests that a wrong one is refused).
 *
 * @example
 * ```ts
 * new Kafka({ brokers: cluster.brokers, ...clientSecurity('scram') });
 * ```
 */
export function clientSecurity(security: KafkaSecurity, tls?: TlsMaterial, password: string = SCRAM_USER.password): KafkaClientSecurity {
  if (security === 'scram') return { sasl: { mechanism: 'scram-sha-256', username: SCRAM_USER.username, password } };
  if (security === 'tls' && tls !== undefined) return { ssl: { ca: [tls.caPem] } };
  if (security === 'mtls' && tls !== undefined) return { ssl: { ca: [tls.caPem], cert: tls.clientCertPem, key: tls.clientKeyPem } };
  return {};
}
