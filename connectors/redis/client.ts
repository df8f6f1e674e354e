/**
 * The ioredis connection of the online store, set up so that Redis being down never blocks the
 * job: no offline queue (a command while disconnected fails at once instead of waiting), no
 * per-command retries, bounded connect and command times, and reconnection in the background.
 */
import { Redis } from 'ioredis';
import { describeError } from '../../core/errors.ts';
import { withDeadline } from '../../core/deadline.ts';
import { FeatureStoreError } from '../../core/features/index.ts';

/** Connection settings; every one has a default suited to a lookup on the hot path. */
export interface RedisClientOptions {
  /** `redis://host:port[/db]`. */
  url: string;
  /** Give up on a connection attempt after this long. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** A write chunk or lookup not answered within this fails (see withTimeout); lookups fall back. Default 250 ms. */
  commandTimeoutMs?: number;
  /** Longest wait between reconnection attempts. Default 1000 ms. */
  maxReconnectDelayMs?: number;
}

/** A connected client and its command timeout. */
export interface RedisConnection {
  readonly client: Redis;
  readonly url: string;
  readonly commandTimeoutMs: number;
  /** Connection errors seen (each reconnect attempt that fails counts once). */
  errors(): number;
}

/**
 * Connects, or throws one line naming the URL and what to do.
 *
 * @example
 * const { client } = await connectRedis({ url: 'redis://127.0.0.1:6379' });
 */
export async function connectRedis(options: RedisClientOptions): Promise<RedisConnection> {
  const commandTimeoutMs = options.commandTimeoutMs ?? 250;
  const maxDelay = options.maxReconnectDelayMs ?? 1000;
  let errors = 0;
  const client = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    // No ioredis `commandTimeout`: it arms a timer per command; the store bounds each write
    // chunk and each lookup with withTimeout(commandTimeoutMs) instead.
    // Keep trying forever in the background; callers see fast failures meanwhile.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
  });
  // Without a listener ioredis prints every failed reconnect; the store counts them instead.
  client.on('error', () => errors++);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new FeatureStoreError(
      `cannot reach Redis at ${options.url} (${describeError(error)}): start redis-server there, or point the online store elsewhere with --redis redis://host:port or REDIS_URL`,
      { retriable: true, cause: error },
    );
  }
  return { client, url: options.url, commandTimeoutMs, errors: () => errors };
}

/**
 * `promise`, or a rejection after `ms` (the command may still complete later; nobody waits).
 *
 * @example
 * await withTimeout(client.mget(keys), 250, 'lookup');
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(promise, ms, () => new FeatureStoreError(`Redis ${what} did not answer within ${ms} ms`, { retriable: true }));
}

/**
 * The online store's URL: the `--redis` flag, else `REDIS_URL`, else undefined (no online store).
 *
 * @example
 * redisUrl(flags.redis, process.env); // 'redis://127.0.0.1:6379'
 */
export function redisUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = flag ?? env.REDIS_URL;
  return url === undefined || url === '' ? undefined : url;
}
