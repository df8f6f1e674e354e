/**
 * One Kafka JVM of a test cluster, as a child process group: test/kit/kafka/run-node.sh runs
 * `java ... kafka.Kafka server.properties` and SIGKILLs it when this process's pipe to it
 * closes, so even a SIGKILLed test process leaves no JVM behind. While running, a node never
 * keeps the test process alive, and every node still running at exit is SIGKILLed.
 *
 * @example
 * ```ts
 * const node = spawnNode({ nodeId: 1, root, libs, propertiesPath, logPath });
 * node.signal('SIGSTOP'); // pause
 * await node.kill();
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

import { KAFKA_JVM_FLAGS } from './kafkaJars.ts';

const runNodeScript = fileURLToPath(new URL('./kafka/run-node.sh', import.meta.url));

/** What {@link spawnNode} needs. */
export interface NodeSpec {
  nodeId: number;
  /** The cluster's temp folder; run-node.sh removes it if this process dies first. */
  root: string;
  libs: string;
  /** JVM flags beyond KAFKA_JVM_FLAGS, e.g. the class archive's. */
  jvmFlags?: readonly string[];
  propertiesPath: string;
  /** The JVM's stdout and stderr (the broker log) are appended here. */
  logPath: string;
}

/** A running (or exited) node. */
export interface NodeProcess {
  readonly nodeId: number;
  /** Process group id (the run-node.sh pid); the JVM is in this group. */
  readonly pgid: number;
  /** Resolves when the node's group leader has exited. */
  readonly exited: Promise<void>;
  isRunning(): boolean;
  /** Sends `signal` to the whole group (SIGSTOP / SIGCONT pause and resume it). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILLs the group and resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERMs the JVM (Kafka's controlled shutdown), SIGKILLs it after `graceMs`. */
  terminate(graceMs: number): Promise<void>;
}

const running = new Set<NodeProcess>();
/** Folders to remove at exit, with the nodes that use them. */
const roots = new Set<string>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const node of running) node.signal('SIGKILL');
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });
}

/** Removes `root` when this process exits (after its nodes are killed). */
export function removeAtExit(root: string): void {
  installExitHook();
  roots.add(root);
}

/** Stops removing `root` at exit (it was removed already). */
export function forgetRoot(root: string): void {
  roots.delete(root);
}

/**
 * Whether any process of group `pgid` is still running (zombies do not count: a JVM whose shell
 * died first is reparented to PID 1, which may be slow to reap it). Reads /proc (Linux).
 *
 * @example
 * ```ts
 * assert.equal(groupAlive(cluster.pgid(1)), false);
 * ```
 */
export function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/** Resolves once no process of `pgid` runs any more (SIGKILL takes a moment to tear a JVM down). */
async function groupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * Starts one node. Resolves nothing about readiness: the cluster checks that with a client.
 *
 * @example
 * ```ts
 * const node = spawnNode(spec);
 * await node.exited; // after kill()
 * ```
 */
export function spawnNode(spec: NodeSpec): NodeProcess {
  installExitHook();
  const log = openSync(spec.logPath, 'a');
  let child: ChildProcess;
  try {
    const java = [
      'java',
      ...KAFKA_JVM_FLAGS,
      ...(spec.jvmFlags ?? []),
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
      '-cp',
      `${spec.libs}/*`,
      'kafka.Kafka',
      spec.propertiesPath,
    ];
    // detached: a process group of its own, so one signal reaches the shell, its watcher and the JVM.
    child = spawn('sh', [runNodeScript, spec.root, ...java], { detached: true, stdio: ['pipe', log, log] });
  } finally {
    closeSync(log);
  }
  const pgid = child.pid ?? -1;
  // The pipe stays open (its closing is what stops an orphaned node) but holds no event-loop ref.
  (child.stdin as Socket | null)?.unref();
  child.stdin?.on('error', () => {});
  child.unref();
  let alive = pgid > 0;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  }).then(() => {
    alive = false;
    running.delete(node);
  });

  const signal = (sig: NodeJS.Signals): void => {
    if (pgid <= 0) return;
    try {
      process.kill(-pgid, sig);
    } catch {
      // The group is gone already.
    }
  };
  const waitExit = async (): Promise<void> => {
    // Holding a timer keeps the loop alive until the group leader's exit is seen.
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await exited;
      await groupGone(pgid, 10_000);
    } finally {
      clearInterval(keepAlive);
    }
  };

  const node: NodeProcess = {
    nodeId: spec.nodeId,
    pgid,
    exited,
    isRunning: () => alive,
    signal,
    async kill() {
      signal('SIGKILL');
      await waitExit();
    },
    async terminate(graceMs: number) {
      signal('SIGCONT');
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      try {
        await waitExit();
      } finally {
        clearTimeout(timer);
      }
      signal('SIGKILL'); // the watcher, if the JVM went first
    },
  };
  if (alive) running.add(node);
  return node;
}

/** The last `chars` characters of a node's log, for error messages. */
export function logTail(logPath: string, chars = 1500): string {
  try {
    return readFileSync(logPath, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}
