import { Option } from 'commander';
import type { KafkaSecurityFlags } from '../connectors/kafka/security.ts';
import type { RunFlags } from './cliOptions.ts';

/**
 * `--kafka-tls`, `--kafka-ca`, ...: how the Kafka connection is secured (each with a KAFKA_*
 * variable). Passwords only from the environment or a file: flags show in `ps`.
 *
 * @example
 * const options = [...runOptions(), ...kafkaSecurityOptions()];
 */
export function kafkaSecurityOptions(): Option[] {
  return [
    new Option('--kafka-tls', 'connect to Kafka over TLS, trusting the system CAs (implied by --kafka-ca / --kafka-cert)').env('KAFKA_TLS'),
    new Option('--kafka-ca <file>', 'PEM file of the CA that signed the brokers\' certificates (TLS)').env('KAFKA_TLS_CA_FILE'),
    new Option('--kafka-cert <file>', 'PEM client certificate for mutual TLS (with --kafka-key)').env('KAFKA_TLS_CERT_FILE'),
    new Option('--kafka-key <file>', 'PEM private key of the client certificate').env('KAFKA_TLS_KEY_FILE'),
    new Option('--kafka-sasl <mechanism>', 'SASL login to Kafka; the password comes from KAFKA_SASL_PASSWORD or --kafka-password-file').choices(['plain', 'scram-sha-256', 'scram-sha-512']).env('KAFKA_SASL_MECHANISM'),
    new Option('--kafka-user <name>', 'SASL user name').env('KAFKA_SASL_USERNAME'),
    new Option('--kafka-password-file <file>', 'file holding the SASL password (or set KAFKA_SASL_PASSWORD; never a flag, flags show in ps)').env('KAFKA_SASL_PASSWORD_FILE'),
  ];
}

/**
 * The parsed security flags, for `kafkaSecurity()`.
 *
 * @example
 * kafkaSecurity(securityFlags(flags))
 */
export function securityFlags(flags: Pick<RunFlags, 'kafkaTls' | 'kafkaCa' | 'kafkaCert' | 'kafkaKey' | 'kafkaSasl' | 'kafkaUser' | 'kafkaPasswordFile'>): KafkaSecurityFlags {
  return { tls: flags.kafkaTls, caFile: flags.kafkaCa, certFile: flags.kafkaCert, keyFile: flags.kafkaKey, saslMechanism: flags.kafkaSasl, username: flags.kafkaUser, passwordFile: flags.kafkaPasswordFile };
}
