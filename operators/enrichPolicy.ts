import { BrokenCircuitError, circuitBreaker, CircuitState, CountBreaker, ExponentialBackoff, handleWhen, type CircuitBreakerPolicy, type IBackoff, type IBackoffFactory } from 'cockatiel';
import type { Clock } from '../core/clock.ts';
import { describeError, InvalidOptionError, requireNonNegativeNumber, requirePositiveInteger, SluiceError } from '../core/errors.ts';

/** Retries of a failed request (only for errors whose `retriable` is true: 5xx, timeouts, refused). */
export interface EnrichRetryOptions {
  /** Attempts in all, the first included; 1 turns retries off. Default 3. */
  readonly maxAttempts?: number;
  /** Delay before the first retry; doubles (with jitter) each time. Default 50 ms. */
  readonly initialDelayMs?: number;
  /** The longest delay between attempts. Default 1000 ms. */
  readonly maxDelayMs?: number;
}

/** The circuit breaker: when most recent requests fail, stop calling for a while. */
export interface EnrichBreakerOptions {
  /** Share (between 0 and 1) of failed requests in the window that opens the breaker. Default 0.5. */
  readonly threshold?: number;
  /** The window: the last this many requests. Default 20. */
  readonly window?: number;
  /** Requests the window must hold before it may open. Default 10. */
  readonly minimumCalls?: number;
  /** How long an open breaker refuses calls before one probe is let through (half-open). Default 10,000 ms. */
  readonly halfOpenAfterMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** A request failed because it took longer than the stage's `timeoutMs`: retriable. */
export class EnrichTimeoutError extends SluiceError {
  constructor(stage: string, timeoutMs: number) {
    super(`${stage}: no answer within ${timeoutMs} ms — raise timeoutMs or check the service's load`, { retriable: true });
  }
}

/** The breaker is open: the request was not sent. */
export class BreakerOpenError extends SluiceError {
  constructor(stage: string) {
    super(`${stage}: circuit breaker open after repeated failures — the service is not called until it recovers (fallback used)`, { retriable: false });
  }
}

interface Hooks {
  readonly onBreaker: (state: BreakerState) => void;
}

/** The outcome of one guarded call. */
export type Guarded<R> = { ok: true; value: R; attempts: number } | { ok: false; error: unknown; attempts: number };

/**
 * Timeout, retries with exponential backoff and a circuit breaker around one async call. The
 * breaker is cockatiel's (`CircuitBreakerPolicy` over a `CountBreaker`: the failure rate of the
 * last `window` requests); only retriable failures count against it (a 4xx says nothing about
 * the service's health). Its cool-down reads the injected clock, not `Date.now()`: cockatiel
 * compares `Date.now() - openedAt` with the half-open backoff's `duration`, which here is a
 * getter asking the clock whether the cool-down is over (so virtual time opens and closes it).
 * The backoff delay values come from cockatiel's `ExponentialBackoff` (decorrelated jitter);
 * delays and timeouts run on `timers` (real timers by default: a request is wall time).
 *
 * @example
 * const guard = new CallGuard('enrich', { timeoutMs: 500, retry: {}, breaker: {} }, clock, { onBreaker: (state) => log(state) });
 * const outcome = await guard.run((signal) => fetch(url, { signal }));
 */
export class CallGuard {
  readonly #stage: string;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #backoff: ExponentialBackoff<unknown>;
  readonly #breaker: CircuitBreakerPolicy | undefined;
  readonly #timers: Timers;

  constructor(
    stage: string,
    options: { timeoutMs: number; retry: EnrichRetryOptions; breaker: EnrichBreakerOptions | false },
    clock: Clock,
    hooks: Hooks,
    timers: Timers = realTimers,
  ) {
    this.#stage = stage;
    this.#timeoutMs = requirePositiveInteger('timeoutMs', options.timeoutMs);
    this.#maxAttempts = requirePositiveInteger('retry.maxAttempts', options.retry.maxAttempts ?? 3);
    const initialDelay = requireNonNegativeNumber('retry.initialDelayMs', options.retry.initialDelayMs ?? 50);
    const maxDelay = requireNonNegativeNumber('retry.maxDelayMs', options.retry.maxDelayMs ?? 1000);
    this.#backoff = new ExponentialBackoff({ initialDelay, maxDelay });
    this.#timers = timers;
    if (options.breaker === false) return;
    const breaker = options.breaker;
    const threshold = breaker.threshold ?? 0.5;
    if (!(threshold > 0 && threshold < 1)) throw new InvalidOptionError(`breaker.threshold must be a share between 0 and 1 (exclusive), got ${threshold}`);
    const window = requirePositiveInteger('breaker.window', breaker.window ?? 20);
    const minimumCalls = requirePositiveInteger('breaker.minimumCalls', breaker.minimumCalls ?? Math.min(10, window));
    const halfOpenAfterMs = requireNonNegativeNumber('breaker.halfOpenAfterMs', breaker.halfOpenAfterMs ?? 10_000);
    // Only retriable failures count against the breaker: a 4xx says nothing about the service's health.
    this.#breaker = circuitBreaker(handleWhen(isRetriable), {
      breaker: new CountBreaker({ threshold, size: window, minimumNumberOfCalls: minimumCalls }),
      halfOpenAfter: new ClockCooldown(clock, halfOpenAfterMs),
    });
    this.#breaker.onStateChange((state) => hooks.onBreaker(stateName(state)));
  }

  /** The breaker's state now. */
  get breakerState(): BreakerState {
    return this.#breaker === undefined ? 'closed' : stateName(this.#breaker.state);
  }

  /** Runs `call` under the timeout, retries and breaker; never rejects. `onRetry` hears each retry before its delay. */
  async run<R>(call: (signal: AbortSignal) => Promise<R>, onRetry?: (attempt: number, delayMs: number, error: unknown) => void): Promise<Guarded<R>> {
    let attempts = 0;
    let backoff: IBackoff<unknown> | undefined;
    for (;;) {
      attempts += 1;
      try {
        const breaker = this.#breaker;
        const value = breaker === undefined ? await this.#withTimeout(call, undefined) : await breaker.execute(({ signal }) => this.#withTimeout(call, signal));
        return { ok: true, value, attempts };
      } catch (error) {
        // An open breaker (cool-down not over on the clock) refuses without calling.
        if (error instanceof BrokenCircuitError) return { ok: false, error: new BreakerOpenError(this.#stage), attempts: attempts - 1 };
        if (!isRetriable(error) || attempts >= this.#maxAttempts) return { ok: false, error, attempts };
        backoff = (backoff ?? this.#backoff).next(undefined);
        const delayMs = backoff.duration;
        onRetry?.(attempts + 1, delayMs, error);
        await new Promise<void>((resolve) => this.#timers.set(resolve, delayMs));
      }
    }
  }

  async #withTimeout<R>(call: (signal: AbortSignal) => Promise<R>, outer: AbortSignal | undefined): Promise<R> {
    const controller = new AbortController();
    const abort = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', abort, { once: true });
    let timer: unknown;
    const timedOut = new Promise<never>((_, reject) => {
      timer = this.#timers.set(() => {
        const error = new EnrichTimeoutError(this.#stage, this.#timeoutMs);
        controller.abort(error);
        reject(error);
      }, this.#timeoutMs);
    });
    try {
      return await Promise.race([call(controller.signal), timedOut]);
    } finally {
      this.#timers.clear(timer);
      outer?.removeEventListener('abort', abort);
    }
  }
}

/** Where delays and timeouts wait. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** True for errors that say "try again": Sluice's `retriable` flag, or a timeout. */
export function isRetriable(error: unknown): boolean {
  return error instanceof SluiceError ? error.retriable : false;
}

/** The half-open cool-down on the injected clock (see CallGuard): `duration` is -1 once it is over. */
class ClockCooldown implements IBackoffFactory<unknown>, IBackoff<unknown> {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #openedAt: number;

  constructor(clock: Clock, ms: number, openedAt = Number.NaN) {
    this.#clock = clock;
    this.#ms = ms;
    this.#openedAt = openedAt;
  }

  get duration(): number {
    return this.#clock.now() - this.#openedAt >= this.#ms ? -1 : Number.POSITIVE_INFINITY;
  }

  next(): ClockCooldown {
    return new ClockCooldown(this.#clock, this.#ms, this.#clock.now());
  }
}

function stateName(state: CircuitState): BreakerState {
  return state === CircuitState.Closed ? 'closed' : state === CircuitState.HalfOpen ? 'half-open' : 'open';
}

/** One line for a dead letter or span: what went wrong with the call. */
export function callFailure(error: unknown): string {
  return describeError(error);
}
