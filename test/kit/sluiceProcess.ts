/**
 * Runs `sluice` commands as child processes for scenario tests (scale-out, kill -9, SIGTERM,
 * broker outages), the way a user runs them: `node --import tsx runtime/cli.ts ...` from the
 * repository root. Children still alive when the test process exits are SIGKILLed.
 *
 * Also: topic readers that keep consuming until a condition holds, for outputs that may carry
 * duplicates (at-least-once), and a reader of a group's committed offsets.
 *
 * @example
 * const job = spawnSluice(['run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(',')], { env: KAFKA_TEST_ENV });
 * await job.waitForStderr(/assigned/, 15_000);
 * job.kill('SIGTERM');
 * assert.equal((await job.exited).code, 0);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createTestKafka, TEST_CONSUMER_TIMINGS, type ConsumedMessage } from './kafka.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Environment for a `sluice run` against the test broker: the consumer timings of
 * TEST_CONSUMER_TIMINGS (fast rebalances, short empty fetches) and frequent commits.
 */
export const KAFKA_TEST_ENV: Readonly<Record<string, string>> = {
  SLUICE_KAFKA_SESSION_TIMEOUT_MS: String(TEST_CONSUMER_TIMINGS.sessionTimeout),
  SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS: String(TEST_CONSUMER_TIMINGS.heartbeatInterval),
  SLUICE_KAFKA_REBALANCE_TIMEOUT_MS: String(TEST_CONSUMER_TIMINGS.rebalanceTimeout),
  SLUICE_KAFKA_MAX_WAIT_MS: String(TEST_CONSUMER_TIMINGS.maxWaitTimeInMs),
  SLUICE_KAFKA_COMMIT_INTERVAL_MS: '200',
  SLUICE_KAFKA_CONNECTION_TIMEOUT_MS: '1000',
};

/** A running `sluice` child process. */
export interface SluiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match in stderr (already written or still to come). */
  waitForStderr(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();
let hookInstalled = false;

/**
 * Starts `sluice <args>` (runtime/cli.ts under tsx) with the repository root as working
 * directory.
 */
export function spawnSluice(args: readonly string[], options: { env?: Readonly<Record<string, string>>; nodeArgs?: readonly string[] } = {}): SluiceProcess {
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'runtime/cli.ts', ...args], {
    cwd: repoRoot,
    // One stream thread unless the test (or the whole run: SLUICE_PARALLELISM=2 npm test) says
    // otherwise: these scenarios are about processes, and their log lines are one consumer's.
    env: { SLUICE_PARALLELISM: '1', ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    for (const watcher of watchers) watcher();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      for (const watcher of watchers) watcher();
      resolve({ code, signal });
    });
  });
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitForStderr: (pattern, timeoutMs) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = () => {
          const match = err.match(pattern);
          if (match !== null) {
            done();
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`sluice exited (${child.exitCode ?? child.signalCode}) before stderr matched ${pattern}; stderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`stderr did not match ${pattern} within ${timeoutMs} ms; stderr:\n${err}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      }),
  };
}

/** SIGKILLs every child still running (for `after` hooks). */
export async function killAllSluice(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of live) {
    waits.push(new Promise((resolve) => child.once('exit', resolve)));
    child.kill('SIGKILL');
  }
  await Promise.all(waits);
}

/** Options for {@link consumeUntil}. */
export interface ConsumeUntilOptions {
  /** Checked after every batch with everything received so far. */
  until: (received: readonly ConsumedMessage[]) => boolean;
  timeoutMs: number;
  groupId?: string;
}

/**
 * Reads `topic` from the beginning with a fresh group until `until` holds, then disconnects.
 * Rejects on timeout with how many messages did arrive. For outputs with duplicates, where a
 * message count says little.
 *
 * @example
 * const got = await consumeUntil(brokers, 'out', { until: (m) => uniqueIds(m).size >= 1000, timeoutMs: 30_000 });
 */
export async function consumeUntil(brokers: string[], topic: string, options: ConsumeUntilOptions): Promise<ConsumedMessage[]> {
  const consumer = createTestKafka(brokers, { clientId: 'sluice-test-reader' }).consumer({
    groupId: options.groupId ?? `sluice-test-${randomUUID()}`,
    allowAutoTopicCreation: false,
    ...TEST_CONSUMER_TIMINGS,
  });
  const received: ConsumedMessage[] = [];
  let satisfied!: () => void;
  const enough = new Promise<void>((resolve) => (satisfied = resolve));
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          received.push({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers ?? {}, timestamp: m.timestamp });
        }
        if (options.until(received)) satisfied();
      },
    });
    const outcome = await Promise.race([
      enough.then(() => 'ok' as const),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs))),
    ]);
    if (outcome === 'timeout') throw new Error(`consumeUntil(${topic}): condition not met within ${options.timeoutMs} ms (${received.length} messages read)`);
    return received;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

/** A group's committed offsets of a topic, by partition (-1 where nothing was committed). */
export async function committedOffsets(brokers: string[], groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = createTestKafka(brokers, { clientId: 'sluice-test-admin' }).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** The high watermark (next offset to be written) of each partition of a topic. */
export async function highWatermarks(brokers: string[], topic: string): Promise<Map<number, number>> {
  const admin = createTestKafka(brokers, { clientId: 'sluice-test-admin' }).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** The resident set size of a process in bytes (Linux), or undefined once it is gone. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
