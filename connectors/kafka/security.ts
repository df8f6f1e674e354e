import { readFileSync } from 'node:fs';
import { ConnectorError, InvalidOptionError } from '../../core/errors.ts';
import type { KafkaSecurity, KafkaSettings } from '../../core/job.ts';
import { brokersUnreachable, describeKafkaError } from './errors.ts';

/** Where the connection's security comes from: flags, each with a `KAFKA_*` variable behind it. */
export interface KafkaSecurityFlags {
  /** `--kafka-tls` [KAFKA_TLS=true]: TLS with the system's trusted CAs (implied by the three files below). */
  readonly tls?: boolean | undefined;
  /** `--kafka-ca <file>` [KAFKA_TLS_CA_FILE]: PEM of the CA that signed the brokers' certificates. */
  readonly caFile?: string | undefined;
  /** `--kafka-cert <file>` [KAFKA_TLS_CERT_FILE] and `--kafka-key <file>` [KAFKA_TLS_KEY_FILE]: a client certificate (mutual TLS). */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** `--kafka-sasl <mechanism>` [KAFKA_SASL_MECHANISM]: plain, scram-sha-256 or scram-sha-512. */
  readonly saslMechanism?: string | undefined;
  /** `--kafka-user <name>` [KAFKA_SASL_USERNAME]. */
  readonly username?: string | undefined;
  /** `--kafka-password-file <file>` [KAFKA_SASL_PASSWORD_FILE]; or the password itself in KAFKA_SASL_PASSWORD (never a flag: flags show in `ps`). */
  readonly passwordFile?: string | undefined;
}

const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/**
 * The connection security the flags and environment ask for, with the files read; undefined
 * for plaintext. Every mistake is one line that names the flag and what to do.
 *
 * @example
 * kafkaSecurity({ caFile: 'ca.pem', saslMechanism: 'scram-sha-256', username: 'sluice' }, { KAFKA_SASL_PASSWORD: 's3cret' })
 * // { tls: { ca: '-----BEGIN CERTIFICATE-----...' }, sasl: { mechanism: 'scram-sha-256', username: 'sluice', password: 's3cret' } }
 */
export function kafkaSecurity(flags: KafkaSecurityFlags, env: NodeJS.ProcessEnv = process.env): KafkaSecurity | undefined {
  const caFile = flags.caFile ?? nonEmpty(env.KAFKA_TLS_CA_FILE);
  const certFile = flags.certFile ?? nonEmpty(env.KAFKA_TLS_CERT_FILE);
  const keyFile = flags.keyFile ?? nonEmpty(env.KAFKA_TLS_KEY_FILE);
  const tlsOn = flags.tls === true || /^(1|true|yes)$/i.test(env.KAFKA_TLS ?? '') || caFile !== undefined || certFile !== undefined || keyFile !== undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new InvalidOptionError('a client certificate needs both --kafka-cert and --kafka-key (KAFKA_TLS_CERT_FILE, KAFKA_TLS_KEY_FILE)');
  const tls = tlsOn
    ? {
        ...(caFile === undefined ? {} : { ca: readPem('--kafka-ca', caFile) }),
        ...(certFile === undefined ? {} : { cert: readPem('--kafka-cert', certFile) }),
        ...(keyFile === undefined ? {} : { key: readPem('--kafka-key', keyFile) }),
      }
    : undefined;

  const mechanism = (flags.saslMechanism ?? nonEmpty(env.KAFKA_SASL_MECHANISM))?.toLowerCase();
  const username = flags.username ?? nonEmpty(env.KAFKA_SASL_USERNAME);
  const passwordFile = flags.passwordFile ?? nonEmpty(env.KAFKA_SASL_PASSWORD_FILE);
  let sasl: KafkaSecurity['sasl'];
  if (mechanism !== undefined) {
    if (!(MECHANISMS as readonly string[]).includes(mechanism)) throw new InvalidOptionError(`--kafka-sasl must be one of ${MECHANISMS.join(', ')} (got "${mechanism}")`);
    if (username === undefined) throw new InvalidOptionError(`--kafka-sasl ${mechanism} needs a user: --kafka-user or KAFKA_SASL_USERNAME`);
    const password = passwordFile !== undefined ? readText('--kafka-password-file', passwordFile).replace(/\r?\n$/, '') : env.KAFKA_SASL_PASSWORD;
    if (password === undefined || password === '') throw new InvalidOptionError(`--kafka-sasl ${mechanism} needs a password: KAFKA_SASL_PASSWORD, or --kafka-password-file`);
    sasl = { mechanism: mechanism as (typeof MECHANISMS)[number], username, password };
  } else if (username !== undefined || passwordFile !== undefined) {
    throw new InvalidOptionError('a Kafka user or password needs a mechanism: --kafka-sasl plain|scram-sha-256|scram-sha-512 (KAFKA_SASL_MECHANISM)');
  }
  if (tls === undefined && sasl === undefined) return undefined;
  return { ...(tls === undefined ? {} : { tls }), ...(sasl === undefined ? {} : { sasl }) };
}

/**
 * The security as a line for the start-up log: what is used, never a secret.
 *
 * @example
 * describeKafkaSecurity({ sasl: { mechanism: 'plain', username: 'u', password: 'p' } }) // 'SASL plain as u, no TLS'
 */
export function describeKafkaSecurity(security: KafkaSecurity | undefined): string {
  if (security === undefined) return 'plaintext (no TLS, no SASL)';
  const tls = security.tls === undefined ? 'no TLS' : `TLS${security.tls.ca === undefined ? ' (system CAs)' : ' (CA file)'}${security.tls.cert === undefined ? '' : ' with a client certificate'}`;
  return security.sasl === undefined ? tls : `SASL ${security.sasl.mechanism} as ${security.sasl.username}, ${tls}`;
}

/**
 * A first connection that failed, as one line: refused credentials and untrusted certificates
 * say which setting to check; anything else is an unreachable broker.
 *
 * @example
 * catch (error) { throw connectionFailure(settings, error); }
 */
export function connectionFailure(settings: KafkaSettings, error: unknown): ConnectorError {
  const reason = describeKafkaError(error);
  const where = settings.brokers.join(',');
  if (/SASL|authentication/i.test(reason) && !/handshake.*timeout/i.test(reason)) {
    const who = settings.security?.sasl === undefined ? 'without credentials' : `as ${settings.security.sasl.username} (${settings.security.sasl.mechanism})`;
    return new ConnectorError(`Kafka at ${where} refused the login ${who}: ${reason} — check KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD and --kafka-sasl`, { cause: error });
  }
  if (/certificate|self[- ]signed|TLS|SSL|EPROTO/i.test(reason)) {
    return new ConnectorError(`TLS with Kafka at ${where} failed: ${reason} — check --kafka-ca (the CA that signed the brokers' certificates), --kafka-cert / --kafka-key, and that the listener speaks TLS`, { cause: error });
  }
  return brokersUnreachable(settings.brokers, error);
}

function readPem(flag: string, file: string): string {
  const text = readText(flag, file);
  if (!text.includes('-----BEGIN ')) throw new InvalidOptionError(`${flag} ${file} is not a PEM file (no -----BEGIN line)`);
  return text;
}

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidOptionError(`${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
