import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import { InvalidOptionError } from '../../core/errors.ts';
import type { KafkaSettings } from '../../core/job.ts';

/**
 * Timings of Sluice's Kafka clients. Defaults suit a production cluster; every one can be set
 * from the environment (the name in brackets), which is how tests and operators tune a
 * `sluice run` without touching the job file.
 */
export interface KafkaTuning {
  /** Consumer group session timeout [SLUICE_KAFKA_SESSION_TIMEOUT_MS]. */
  readonly sessionTimeoutMs: number;
  /** How often a consumer heartbeats, also while it waits for room [SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS]. */
  readonly heartbeatIntervalMs: number;
  /** How long the group waits for members to rejoin [SLUICE_KAFKA_REBALANCE_TIMEOUT_MS]. */
  readonly rebalanceTimeoutMs: number;
  /**
   * Longest a fetch waits for data [SLUICE_KAFKA_MAX_WAIT_MS]. Also the longest a paused
   * consumer takes to notice it was resumed, so it is far below kafkajs' 5 s default.
   */
  readonly maxWaitMs: number;
  /** Offsets are committed at least this often while records finish [SLUICE_KAFKA_COMMIT_INTERVAL_MS]. */
  readonly commitIntervalMs: number;
  /** TCP connect timeout per broker [SLUICE_KAFKA_CONNECTION_TIMEOUT_MS]. */
  readonly connectionTimeoutMs: number;
  /** A produce that is not acknowledged by then fails for good [SLUICE_KAFKA_DELIVERY_TIMEOUT_MS]. */
  readonly deliveryTimeoutMs: number;
  /**
   * Exactly once: the broker aborts a transaction open this long [SLUICE_KAFKA_TRANSACTION_TIMEOUT_MS],
   * so a send or commit still unanswered by then fails the job (restart resumes from the last commit).
   */
  readonly transactionTimeoutMs: number;
  /** kafkajs' own log lines on stderr: nothing, error, warn, info or debug [SLUICE_KAFKA_LOG_LEVEL]. */
  readonly logLevel: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
}

export const DEFAULT_KAFKA_TUNING: KafkaTuning = {
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 60_000,
  maxWaitMs: 100,
  commitIntervalMs: 1_000,
  connectionTimeoutMs: 3_000,
  deliveryTimeoutMs: 120_000,
  transactionTimeoutMs: 60_000,
  logLevel: 'nothing',
};

const ENV_NAMES: { readonly [K in Exclude<keyof KafkaTuning, 'logLevel'>]: string } = {
  sessionTimeoutMs: 'SLUICE_KAFKA_SESSION_TIMEOUT_MS',
  heartbeatIntervalMs: 'SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS',
  rebalanceTimeoutMs: 'SLUICE_KAFKA_REBALANCE_TIMEOUT_MS',
  maxWaitMs: 'SLUICE_KAFKA_MAX_WAIT_MS',
  commitIntervalMs: 'SLUICE_KAFKA_COMMIT_INTERVAL_MS',
  connectionTimeoutMs: 'SLUICE_KAFKA_CONNECTION_TIMEOUT_MS',
  deliveryTimeoutMs: 'SLUICE_KAFKA_DELIVERY_TIMEOUT_MS',
  transactionTimeoutMs: 'SLUICE_KAFKA_TRANSACTION_TIMEOUT_MS',
};

const LOG_LEVELS = { nothing: logLevel.NOTHING, error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG } as const;

/**
 * The tuning in force: defaults, then the environment, then `overrides`. Checks every value
 * with an exact message.
 *
 * @example
 * kafkaTuning(process.env, { maxWaitMs: 50 }).sessionTimeoutMs // 30000 unless SLUICE_KAFKA_SESSION_TIMEOUT_MS is set
 */
/**
 * Where a Kafka connector's lines go unless its options say otherwise: stderr, prefixed `kafka: `.
 *
 * @example
 * const log = options.log ?? logKafkaLine;
 */
export function logKafkaLine(line: string): void {
  process.stderr.write(`kafka: ${line}\n`);
}

export function kafkaTuning(env: NodeJS.ProcessEnv = process.env, overrides: Partial<KafkaTuning> = {}): KafkaTuning {
  const tuning: { -readonly [K in keyof KafkaTuning]: KafkaTuning[K] } = { ...DEFAULT_KAFKA_TUNING };
  for (const [field, name] of Object.entries(ENV_NAMES) as [keyof typeof ENV_NAMES, string][]) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new InvalidOptionError(`${name} must be a positive integer of milliseconds (got "${text}")`);
    tuning[field] = value;
  }
  const level = env.SLUICE_KAFKA_LOG_LEVEL;
  if (level !== undefined && level !== '') {
    if (!(level in LOG_LEVELS)) throw new InvalidOptionError(`SLUICE_KAFKA_LOG_LEVEL must be one of ${Object.keys(LOG_LEVELS).join(', ')} (got "${level}")`);
    tuning.logLevel = level as KafkaTuning['logLevel'];
  }
  Object.assign(tuning, overrides);
  if (tuning.heartbeatIntervalMs >= tuning.sessionTimeoutMs) {
    throw new InvalidOptionError(
      `the Kafka heartbeat interval (${tuning.heartbeatIntervalMs} ms) must be below the session timeout (${tuning.sessionTimeoutMs} ms); a third of it is usual`,
    );
  }
  return tuning;
}

/**
 * A kafkajs client for `settings`, quiet unless SLUICE_KAFKA_LOG_LEVEL asks otherwise (its log
 * lines then go to stderr, one line each).
 *
 * @example
 * const kafka = createKafka(env.kafka, kafkaTuning(), 'producer');
 */
export function createKafka(settings: KafkaSettings, tuning: KafkaTuning, role: string): Kafka {
  return new Kafka({
    clientId: `${settings.clientId}-${role}`,
    brokers: [...settings.brokers],
    logLevel: LOG_LEVELS[tuning.logLevel],
    logCreator: () => (entry: LogEntry) => {
      process.stderr.write(`kafkajs ${logLevel[entry.level]?.toLowerCase() ?? entry.level} [${entry.namespace}] ${entry.log.message}\n`);
    },
    ...connectionSecurity(settings),
    connectionTimeout: tuning.connectionTimeoutMs,
    requestTimeout: 30_000,
    // A few quick retries per request; longer outages are the connectors' business.
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 3_000 },
  });
}

/** kafkajs' `ssl` and `sasl` options for the settings' security (none for plaintext). */
function connectionSecurity(settings: KafkaSettings): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const security = settings.security;
  if (security === undefined) return {};
  const { tls, sasl } = security;
  return {
    ...(tls === undefined ? {} : { ssl: tls.ca === undefined && tls.cert === undefined ? true : { ...(tls.ca === undefined ? {} : { ca: [tls.ca] }), ...(tls.cert === undefined ? {} : { cert: tls.cert, key: tls.key }) } }),
    ...(sasl === undefined ? {} : { sasl: sasl.mechanism === 'plain' ? { mechanism: 'plain', username: sasl.username, password: sasl.password } : sasl.mechanism === 'scram-sha-256' ? { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password } : { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password } }),
  };
}
