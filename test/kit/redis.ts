/**
 * A real `redis-server` (Debian's) for integration tests: loopback only, a free port, a temp dir,
 * no persistence, killed on stop and when the test process exits.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * t.after(() => redis.stop());
 * const store = onlineStore({ url: redis.url });
 * await redis.kill();    // a crash: SIGKILL
 * await redis.restart(); // same port, empty (no persistence)
 * ```
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

/** A running test Redis. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** SIGTERM, wait for exit, remove the temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), wait for exit; the port stays reserved for {@link restart}. */
  kill(): Promise<void>;
  /** Starts a new server on the same port (after kill or stop); it starts empty. */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections and data but answers nothing (a slow Redis). */
  freeze(): void;
  /** SIGCONT after {@link freeze}. */
  thaw(): void;
}

const running = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test that fails before its `after` hook must not leave servers behind.
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

function redisServerPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error('redis-server not found: install it with the apt step of .ci/run (apt-get install -y redis-server)');
  }
  return path;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGCONT'); // a frozen server would never act on SIGTERM
  child.kill(signal);
  await exited;
}

/**
 * Starts `redis-server` on a free loopback port with persistence off (`--save ''`,
 * `--appendonly no`) in a fresh temp dir. Throws one line naming the apt step if the binary is
 * missing.
 *
 * @example
 * const redis = await startRedis();
 * try { ... } finally { await redis.stop(); }
 */
export async function startRedis(): Promise<TestRedis> {
  const binary = redisServerPath();
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  dirs.add(dir);
  const port = await freePort();
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
    const started = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    running.add(started);
    started.once('exit', () => running.delete(started));
    await waitForPort(port, started, 10_000);
  };

  await launch();
  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    },
    async kill() {
      await stopChild(child, 'SIGKILL');
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async restart() {
      await stopChild(child, 'SIGKILL');
      stopped = false;
      await launch();
    },
  };
}
