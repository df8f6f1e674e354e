/**
 * Test Kafka cluster for Sluice's integration tests: a child process running
 * librdkafka's built-in mock cluster (see test/kit/mock-broker.c), driven
 * from TypeScript. No Apache Kafka is needed; only Debian's librdkafka-dev.
 *
 * What we know about the mock (librdkafka 2.0.2) with kafkajs 2.2.4; the
 * starred items are checked by test/kit/kafkaMock.test.ts:
 *
 * - Storage: only 5 MiB per partition is kept; older data is dropped
 *   silently. Keep test volumes below that, or spread them over partitions.
 * - Fetch: each Fetch returns ONE stored record batch per partition, i.e. one
 *   kafkajs `send()` worth of messages per partition. Produce test data in
 *   large batches (produceMessages does), or consumers crawl.
 * - Empty fetch: answered only after the consumer's full `maxWaitTimeInMs`
 *   (kafkajs default 5000 ms). Always set it low (50-100 ms) in tests.
 * - Idempotent and transactional producers are not served: never set
 *   `idempotent: true` or a `transactionalId`.
 * - Topics: CreateTopics is not served (kafkajs admin.createTopics fails with
 *   "Broker 0 not found in the cached metadata"); pre-create topics through
 *   startMockKafka. Any Metadata or Produce for an unknown topic silently
 *   auto-creates it with 4 partitions, even with kafkajs
 *   `allowAutoTopicCreation: false`, so a misspelt topic does not fail.
 * - Ports: each broker listens on 127.0.0.1 on a free port the OS picks, so
 *   parallel test files each start their own cluster.
 * - (*) Broker ids are 1..N. `setBrokerDown` closes connections and refuses
 *   new ones (ECONNREFUSED) but does NOT move partition leadership. With one
 *   broker a produce fails fast (~0.5 s with 2 retries, KafkaJSNonRetriableError
 *   "Connection error"); after `setBrokerUp` the SAME producer sends again
 *   and everything acknowledged before is still there.
 * - (*) Consumer groups and rebalances with several kafkajs consumers work
 *   (round-robin splits 4 partitions 2/2), with two catches:
 *   1. Timings. The first join of an empty group waits a fixed ~3 s before a
 *      leader is elected, so every fresh group costs ~3 s before the first
 *      message. The member sends no heartbeats meanwhile, so `sessionTimeout`
 *      must be > 3000: with 1500 or 2000 the mock expires the member and never
 *      answers JoinGroup (kafkajs: "Request JoinGroup ... timed out", forever).
 *      Later rebalances (member joins or leaves) wait `sessionTimeout - 1000`
 *      ms. `rebalanceTimeout` is not used by the mock; kafkajs uses it + 5 s
 *      as the JoinGroup request timeout. Measured: session 3500 -> 2.5 s
 *      rebalances, 4000 -> 3 s, 6000 -> 5 s. Use TEST_CONSUMER_TIMINGS
 *      (session 3500, heartbeat 500, rebalance 3500, maxWait 50).
 *   2. A SyncGroup race: the mock finishes a rebalance as soon as the leader's
 *      SyncGroup arrives and answers a later follower SyncGroup with
 *      INVALID_REQUEST, which kafkajs treats as fatal (CRASH, restart=false):
 *      ~1 in 8 two-member rebalances lost a consumer. kafka.ts'
 *      `mockSafeAssigner` (leader waits 200 ms) fixed it: 0 in 45.
 *      TEST_CONSUMER_TIMINGS and testConsumerConfig() include it.
 *   As with real Kafka, offsets committed while a rebalance is in progress
 *   are rejected, so messages in flight at a rebalance are delivered again.
 * - (*) kafkajs `consumer.pause()` / `resume()` work (they are client-side:
 *   paused partitions are left out of fetches). Call them after `run()`.
 *   Nothing is lost or repeated across a pause.
 * - A test that TIMES OUT while a kafkajs consumer is still running can
 *   leave kafkajs restarting it forever, which keeps node --test from
 *   exiting; `--test-force-exit` (Node >= 20.14) ends the run anyway. The
 *   helper itself never keeps the process alive while idle and is killed
 *   when this process exits.
 *
 * @example
 * ```ts
 * const kafka = await startMockKafka({ topics: [{ name: 'in', partitions: 4 }] });
 * try {
 *   await produceMessages(kafka.brokers, 'in', [{ value: 'hello' }]);
 *   const got = await consumeAll(kafka.brokers, 'in', { expected: 1, timeoutMs: 10_000 });
 * } finally {
 *   await kafka.stop();
 * }
 * ```
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The compiled helper (git-ignored build output). */
export const MOCK_BROKER_BINARY = fileURLToPath(new URL('../kafka/build/mock-broker', import.meta.url));
const buildScript = fileURLToPath(new URL('./build-mock-broker.sh', import.meta.url));

/** Options for {@link startMockKafka}. */
export interface MockKafkaOptions {
  /** Number of brokers (ids 1..N). Default 1. */
  brokers?: number;
  /** Topics to pre-create. The mock does not serve CreateTopics. */
  topics: { name: string; partitions: number }[];
  /** How long to wait for the helper to print its bootstrap list. Default 10 s. */
  startTimeoutMs?: number;
}

/** A running mock cluster. Call {@link MockKafka.stop} in an `after` hook. */
export interface MockKafka {
  /** Process id of the helper (for leak checks in tests). */
  readonly pid: number;
  /** Bootstrap list for kafkajs, e.g. `['127.0.0.1:40123']`. */
  brokers: string[];
  /** Disconnects broker `id` (1..N) and refuses new connections. */
  setBrokerDown(id: number): Promise<void>;
  /** Lets broker `id` accept connections again. */
  setBrokerUp(id: number): Promise<void>;
  /** Stops the helper process; idempotent. */
  stop(): Promise<void>;
}

/** Children still alive, killed synchronously if this process exits early. */
const liveChildren = new Set<ChildProcessWithoutNullStreams>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

let buildPromise: Promise<void> | undefined;

/**
 * Builds the helper if needed (the script is a no-op when the binary is
 * newer than its source). Memoized per process.
 */
export function ensureMockBrokerBuilt(): Promise<void> {
  buildPromise ??= execFileAsync('sh', [buildScript], { cwd: repoRoot }).then(
    () => undefined,
    (err: unknown) => {
      buildPromise = undefined;
      const stderr = (err as { stderr?: string }).stderr ?? '';
      throw new Error(`building the Kafka mock broker failed: ${stderr.trim() || String(err)}`);
    },
  );
  return buildPromise;
}

function validate(options: MockKafkaOptions): number {
  const brokers = options.brokers ?? 1;
  if (!Number.isInteger(brokers) || brokers < 1) throw new RangeError(`brokers must be an integer >= 1, got ${brokers}`);
  for (const t of options.topics) {
    if (!/^[A-Za-z0-9._-]+$/.test(t.name)) throw new RangeError(`invalid topic name: ${JSON.stringify(t.name)}`);
    if (!Number.isInteger(t.partitions) || t.partitions < 1) {
      throw new RangeError(`topic ${t.name}: partitions must be an integer >= 1, got ${t.partitions}`);
    }
  }
  return brokers;
}

/**
 * Starts a mock Kafka cluster in a child process and resolves once it listens.
 *
 * @example
 * ```ts
 * const kafka = await startMockKafka({ brokers: 1, topics: [{ name: 'events', partitions: 4 }] });
 * after(() => kafka.stop());
 * await kafka.setBrokerDown(1); // fault injection
 * await kafka.setBrokerUp(1);
 * ```
 */
export async function startMockKafka(options: MockKafkaOptions): Promise<MockKafka> {
  const brokerCount = validate(options);
  await ensureMockBrokerBuilt();

  const args = ['--brokers', String(brokerCount)];
  for (const t of options.topics) args.push('--topic', `${t.name}:${t.partitions}`);

  const child = spawn(MOCK_BROKER_BINARY, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  installExitHook();
  liveChildren.add(child);

  // While idle, the helper must not keep this process alive: a test that
  // forgets stop() (or is cancelled before its cleanup) then still lets the
  // runner exit, and the 'exit' hook above kills the helper. While we await
  // its output (startup, a command) we hold a reference.
  const pipes = [child.stdin, child.stdout, child.stderr] as unknown as { ref(): void; unref(): void }[];
  let waiting = 0;
  const hold = (): void => {
    if (waiting++ === 0) {
      child.ref();
      for (const p of pipes) p.ref();
    }
  };
  const release = (): void => {
    if (--waiting === 0) {
      child.unref();
      for (const p of pipes) p.unref();
    }
  };
  hold();

  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
  });
  // Writing to a helper that already died must not crash the test process.
  child.stdin.on('error', () => {});

  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      liveChildren.delete(child);
      resolve();
    });
  });

  // Replies arrive one line per command, in order.
  const pendingReplies: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  let bootstrap: { resolve: (line: string) => void; reject: (err: Error) => void } | undefined;
  const bootstrapLine = new Promise<string>((resolve, reject) => {
    bootstrap = { resolve, reject };
  });

  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (bootstrap) {
      const b = bootstrap;
      bootstrap = undefined;
      if (line.startsWith('BOOTSTRAP ')) b.resolve(line.slice('BOOTSTRAP '.length).trim());
      else b.reject(new Error(`mock broker said ${JSON.stringify(line)} instead of BOOTSTRAP`));
      return;
    }
    pendingReplies.shift()?.resolve(line);
  });

  const failAll = (why: string): void => {
    const err = new Error(`mock broker ${why}${stderrTail ? `: ${stderrTail.trim()}` : ''}`);
    bootstrap?.reject(err);
    bootstrap = undefined;
    for (const p of pendingReplies.splice(0)) p.reject(err);
  };
  child.once('error', (err) => failAll(`failed to start (${err.message})`));
  child.once('exit', (code, signal) => failAll(`exited (code ${code}, signal ${signal})`));

  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  let list: string;
  try {
    list = await Promise.race([
      bootstrapLine,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`mock broker printed no BOOTSTRAP within ${startTimeoutMs} ms`)), startTimeoutMs);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  } finally {
    clearTimeout(timer);
    release();
  }

  let stopped = false;
  const command = (line: string): Promise<void> => {
    if (stopped) return Promise.reject(new Error('mock broker already stopped'));
    hold();
    return new Promise<string>((resolve, reject) => {
      pendingReplies.push({ resolve, reject });
      child.stdin.write(`${line}\n`);
    })
      .finally(release)
      .then((reply) => {
        if (reply !== 'OK') throw new Error(`mock broker: '${line}' -> ${reply}`);
      });
  };

  const checkId = (id: number): void => {
    if (!Number.isInteger(id) || id < 1 || id > brokerCount) {
      throw new RangeError(`broker id must be 1..${brokerCount}, got ${id}`);
    }
  };

  return {
    pid: child.pid ?? -1,
    brokers: list.split(',').filter((s) => s.length > 0),
    async setBrokerDown(id: number): Promise<void> {
      checkId(id);
      await command(`down ${id}`);
    },
    async setBrokerUp(id: number): Promise<void> {
      checkId(id);
      await command(`up ${id}`);
    },
    async stop(): Promise<void> {
      if (stopped) return exited;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        hold(); // keep the loop alive until the helper is gone
        child.stdin.end(); // EOF: the helper exits cleanly
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(killTimer);
        release();
      }
      lines.close();
    },
  };
}
