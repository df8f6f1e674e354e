/**
 * One root for every error Sluice raises. `retriable` says whether trying the same thing again
 * later may succeed (a broker that is down) or not (a job file that does not compile).
 */
export class SluiceError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
    Object.defineProperty(this, SLUICE_ERROR, { value: true });
  }
}

const SLUICE_ERROR = Symbol.for('sluice.error');

/**
 * True for any Sluice error, also one made by a second copy of Sluice's modules (a job file
 * loaded from elsewhere can bring its own), where `instanceof` would say no.
 *
 * @example
 * if (isSluiceError(error)) console.error(error.message);
 */
export function isSluiceError(error: unknown): error is SluiceError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[SLUICE_ERROR] === true;
}

/** A job file that cannot be loaded or does not export a job. */
export class JobDefinitionError extends SluiceError {}

/** An option outside its allowed range, reported at the public boundary. */
export class InvalidOptionError extends SluiceError {}

/** A model file that is missing, unreadable, or that fails when run. */
export class ModelError extends SluiceError {}

/** An inference call that did not answer in time. */
export class InferenceTimeoutError extends ModelError {
  constructor(timeoutMs: number) {
    super(`inference did not finish within ${timeoutMs} ms`, { retriable: true });
  }
}

/** A source or sink that cannot reach its system (a broker, a file). */
export class ConnectorError extends SluiceError {}

/**
 * Asserts an option at a public boundary with an exact message, the way Piscina does.
 *
 * @example
 * requirePositiveInteger('maxInFlight', 0) // throws "maxInFlight must be a positive integer (got 0)"
 */
export function requirePositiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new InvalidOptionError(`${name} must be a positive integer (got ${String(value)})`);
  }
  return value;
}

/** Like {@link requirePositiveInteger} but 0 is allowed. */
export function requireNonNegativeNumber(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidOptionError(`${name} must be a non-negative number (got ${String(value)})`);
  }
  return value;
}

/** The message of anything thrown, for dead-letter reasons and log lines. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * A job operator threw on a record. Says which stage, which record (by position) and what to do.
 */
export class StageError extends SluiceError {
  readonly stage: string;

  constructor(stage: string, position: { topic: string; partition: number; offset: number } | undefined, cause: unknown) {
    const where = position === undefined ? '' : ` on ${position.topic}[${position.partition}]@${position.offset}`;
    super(
      `stage "${stage}" failed${where}: ${describeError(cause).split('\n')[0]} — fix the operator, or give it { onError: 'dead-letter' } to send such records to the dead-letter sink`,
      { cause },
    );
    this.stage = stage;
  }
}
