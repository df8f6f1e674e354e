import { ConnectorError, describeError } from '../../core/errors.ts';

/** Errors that mean "the broker cannot be reached right now", whatever kafkajs wraps them in. */
const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
]);

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

function* causes(error: unknown): Generator<ErrorLike> {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth += 1) {
    const e = current as ErrorLike;
    yield e;
    current = e.cause ?? e.originalError;
  }
}

/**
 * True when trying again later may succeed: the broker is down or unreachable, a leader is
 * moving, a request timed out. kafkajs' own "retries exceeded" is transient when its cause is.
 *
 * @example
 * if (isTransientKafkaError(error)) await sleep(backoff); else throw error;
 */
export function isTransientKafkaError(error: unknown): boolean {
  for (const e of causes(error)) {
    if (typeof e.name === 'string' && CONNECTION_ERRORS.has(e.name)) return true;
    if (e.retriable === true) return true;
  }
  return false;
}

/** True when the error (or its cause) says the group is rebalancing. */
export function isRebalanceError(error: unknown): boolean {
  for (const e of causes(error)) {
    const type = (e as { type?: unknown }).type;
    if (type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID') return true;
  }
  return false;
}

/** The innermost useful message of a kafkajs error chain, on one line. */
export function describeKafkaError(error: unknown): string {
  let message = describeError(error);
  for (const e of causes(error)) {
    if (typeof e.message === 'string' && e.message !== '') message = e.message;
  }
  return message.replace(/\s+/g, ' ').trim();
}

/**
 * The one place where a kafkajs error becomes Sluice's: a {@link ConnectorError} whose
 * `retriable` says whether trying again may succeed (the broker is away, a leader moves, the
 * group rebalances). Retries read that flag, never kafkajs' error names. An unreachable broker
 * gets the line that says what to check.
 *
 * @example
 * catch (error) {
 *   const failure = kafkaError(error, 'Kafka producer could not write to topic tx', brokers);
 *   if (!failure.retriable) throw failure;
 * }
 */
export function kafkaError(error: unknown, what: string, brokers: readonly string[]): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (isConnectionError(error)) return brokersUnreachable(brokers, error);
  return new ConnectorError(`${what}: ${describeKafkaError(error)}`, { cause: error, retriable: isTransientKafkaError(error) || isRebalanceError(error) });
}

/** True when the broker cannot be reached at all (as opposed to refusing one request). */
function isConnectionError(error: unknown): boolean {
  for (const e of causes(error)) if (typeof e.name === 'string' && CONNECTION_ERRORS.has(e.name)) return true;
  return false;
}

/**
 * The one-line error for brokers that cannot be reached: which brokers, what went wrong, what
 * to check.
 *
 * @example
 * throw brokersUnreachable(['kafka:9092'], error);
 * // cannot reach Kafka at kafka:9092 (Connection error: getaddrinfo ENOTFOUND kafka) — check --brokers / KAFKA_BROKERS, ...
 */
export function brokersUnreachable(brokers: readonly string[], error: unknown): ConnectorError {
  return new ConnectorError(
    `cannot reach Kafka at ${brokers.join(',')} (${describeKafkaError(error)}) — check --brokers / KAFKA_BROKERS (host:port,...), that the brokers are running and that this machine can reach them`,
    { cause: error, retriable: true },
  );
}
