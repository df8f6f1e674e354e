/**
 * A real Apache Kafka (4.x, KRaft, no ZooKeeper) for Sluice's integration tests: one or three
 * combined broker+controller JVMs on free loopback ports, data and logs in a temp folder, jars
 * from Maven Central (see kafkaJars.ts). Faults are real processes: kill, pause (SIGSTOP),
 * restart. Every JVM dies with the test process, however it ends (see kafkaNode.ts).
 *
 * Each test file is its own process under `node --test`; {@link sharedKafka} starts one broker
 * per file on first use and every test of the file reuses it with topics and groups of its own.
 *
 * @example
 * ```ts
 * const kafka = await sharedKafka();
 * const topic = await createTestTopic(kafka.brokers, 'in', 4);
 * await produceMessages(kafka.brokers, topic, [{ value: 'hello' }]);
 * ```
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Kafka, logLevel } from 'kafkajs';

import { classArchiveFlags } from './kafkaClassArchive.ts';
import { serverProperties, type NodePorts } from './kafkaConfig.ts';
import { ensureKafkaJars, kafkaUuid, KafkaKitError, storageTemplate } from './kafkaJars.ts';
import { forgetRoot, logTail, removeAtExit, spawnNode, type NodeProcess } from './kafkaNode.ts';
import { freePorts } from './kafkaPorts.ts';
import { clientSecurity, makeTlsMaterial, type KafkaClientSecurity, type KafkaSecurity, type TlsMaterial } from './kafkaSecurity.ts';

/** Options for {@link startKafka}. */
export interface StartKafkaOptions {
  /** 1 (default) or 3 nodes; three form a 3-voter quorum and replicate internal topics 3 times. */
  nodes?: 1 | 3;
  /** Secures the client listener: SASL_PLAINTEXT/SCRAM-SHA-256 or TLS. Default none. */
  security?: KafkaSecurity;
  /** Extra server.properties settings for every node. */
  serverProperties?: Readonly<Record<string, string>>;
  /** How long to wait for the cluster to answer. Default 90 s (two shared cores are slow). */
  startTimeoutMs?: number;
}

/** A running test cluster. */
export interface KafkaCluster {
  /** Bootstrap list of the client listeners, e.g. `['127.0.0.1:40123']`. */
  readonly brokers: string[];
  /** Node ids, 1..N. */
  readonly nodeIds: readonly number[];
  readonly security: KafkaSecurity;
  /** kafkajs options for the client listener (`{}`, `{ sasl }` or `{ ssl }`). */
  readonly client: KafkaClientSecurity;
  /** Present for `security: 'tls'` and `'mtls'`. */
  readonly tls?: TlsMaterial;
  /** Milliseconds from the call to the cluster answering with every node. */
  readonly startMs: number;
  /** Process group of a node (the JVM is in it), for leak checks. */
  pgid(nodeId: number): number;
  /** The node's broker log file. */
  logPath(nodeId: number): string;
  /** SIGKILLs a node (default the first). */
  kill(nodeId?: number): Promise<void>;
  /** SIGSTOPs a node: it keeps its sockets but answers nothing. */
  pause(nodeId: number): void;
  /** SIGCONTs a paused node. */
  resume(nodeId: number): void;
  /** Stops a node (SIGKILL, or Kafka's controlled shutdown with `graceful`) and starts it again on its data. */
  restart(nodeId: number, options?: { graceful?: boolean }): Promise<void>;
  /** SIGKILLs every node and removes the temp folder; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a cluster and resolves once kafkajs' `describeCluster` lists every node.
 *
 * @example
 * ```ts
 * const cluster = await startKafka({ nodes: 3 });
 * after(() => cluster.stop());
 * await cluster.kill(1); // a leader dies; the others take over
 * ```
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaCluster> {
  const started = Date.now();
  const count = options.nodes ?? 1;
  if (count !== 1 && count !== 3) throw new KafkaKitError(`nodes must be 1 or 3 (got ${String(count)})`);
  const security = options.security ?? 'none';
  const libs = await ensureKafkaJars();
  const template = await storageTemplate(libs, security === 'scram' ? 'scram' : 'plain');
  const jvmFlags = await classArchiveFlags(libs, await storageTemplate(libs, 'plain'));
  const root = await mkdtemp(join(tmpdir(), 'sluice-kafka-'));
  removeAtExit(root);
  const tls = security === 'tls' || security === 'mtls' ? await makeTlsMaterial(root) : undefined;
  const client = clientSecurity(security, tls);
  const ports = await freePorts(count * 3);
  const layout: NodePorts[] = Array.from({ length: count }, (_, i) => ({
    nodeId: i + 1,
    client: ports[i * 3]!,
    internal: ports[i * 3 + 1]!,
    controller: ports[i * 3 + 2]!,
  }));
  const dir = (nodeId: number): string => join(root, `node-${nodeId}`);
  const logPath = (nodeId: number): string => join(dir(nodeId), 'broker.log');
  for (const node of layout) {
    const dataDir = join(dir(node.nodeId), 'data');
    await mkdir(dir(node.nodeId), { recursive: true });
    await cp(template, dataDir, { recursive: true });
    const meta = (await readFile(join(dataDir, 'meta.properties'), 'utf8'))
      .replace(/^node\.id=.*$/m, `node.id=${node.nodeId}`)
      .replace(/^directory\.id=.*$/m, `directory.id=${kafkaUuid()}`);
    await writeFile(join(dataDir, 'meta.properties'), meta);
    const props = serverProperties({ node, cluster: layout, dataDir, security, ...(tls ? { tls } : {}), overrides: options.serverProperties ?? {} });
    await writeFile(join(dir(node.nodeId), 'server.properties'), props);
  }

  const nodes = new Map<number, NodeProcess>();
  const launch = (nodeId: number): NodeProcess => {
    const node = spawnNode({ nodeId, root, libs, jvmFlags, propertiesPath: join(dir(nodeId), 'server.properties'), logPath: logPath(nodeId) });
    nodes.set(nodeId, node);
    return node;
  };
  const brokers = layout.map((n) => `127.0.0.1:${n.client}`);
  const timeoutMs = options.startTimeoutMs ?? 90_000;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all([...nodes.values()].map((n) => n.kill()));
    await rm(root, { recursive: true, force: true });
    forgetRoot(root);
  };
  const nodeOf = (nodeId: number): NodeProcess => {
    const node = nodes.get(nodeId);
    if (node === undefined) throw new KafkaKitError(`no node ${nodeId}: this cluster has nodes ${[...nodes.keys()].join(', ')}`);
    return node;
  };

  try {
    for (const node of layout) launch(node.nodeId);
    await waitForNodes(brokers, client, layout.map((n) => n.nodeId), nodes, logPath, timeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    brokers,
    nodeIds: layout.map((n) => n.nodeId),
    security,
    client,
    ...(tls ? { tls } : {}),
    startMs: Date.now() - started,
    pgid: (nodeId) => nodeOf(nodeId).pgid,
    logPath: (nodeId) => {
      nodeOf(nodeId); // throws for an unknown node
      return logPath(nodeId);
    },
    kill: (nodeId = 1) => nodeOf(nodeId).kill(),
    pause: (nodeId) => nodeOf(nodeId).signal('SIGSTOP'),
    resume: (nodeId) => nodeOf(nodeId).signal('SIGCONT'),
    async restart(nodeId, restartOptions = {}) {
      const old = nodeOf(nodeId);
      if (restartOptions.graceful === true) await old.terminate(30_000);
      else await old.kill();
      if (stopped) throw new KafkaKitError('this Kafka cluster was stopped: start a new one');
      launch(nodeId);
      await waitForNodes(brokers, client, [nodeId], nodes, logPath, timeoutMs);
    },
    stop,
  };
}

/**
 * Polls the cluster until `describeCluster` lists every node in `nodeIds`; fails early with the
 * log's tail if a node exits.
 */
async function waitForNodes(
  brokers: string[],
  client: KafkaClientSecurity,
  nodeIds: readonly number[],
  nodes: ReadonlyMap<number, NodeProcess>,
  logPath: (nodeId: number) => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({
    clientId: 'sluice-test-kit',
    brokers,
    ...client,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  let lastError = 'no answer yet';
  for (;;) {
    for (const nodeId of nodeIds) {
      const node = nodes.get(nodeId);
      if (node !== undefined && !node.isRunning()) {
        throw new KafkaKitError(`Kafka node ${nodeId} exited while starting; its log (${logPath(nodeId)}) ends:\n${logTail(logPath(nodeId))}`);
      }
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      const { brokers: seen } = await admin.describeCluster();
      const missing = nodeIds.filter((id) => !seen.some((b) => b.nodeId === id));
      if (missing.length === 0) return;
      lastError = `nodes ${missing.join(', ')} not registered yet`;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    if (Date.now() > deadline) {
      throw new KafkaKitError(
        `Kafka did not answer within ${timeoutMs} ms (${lastError}); log ${logPath(nodeIds[0]!)} ends:\n${logTail(logPath(nodeIds[0]!))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

let shared: Promise<KafkaCluster> | undefined;

/**
 * The single-node plaintext broker of this test process, started on first call and reused by
 * every later one; it dies when the process exits. Do not `stop()` it: give each test its own
 * topics and groups instead (a test file is a process of its own under `node --test`, so fixed
 * topic names in one file never meet another file's). Faults on it (kill, pause, restart) are
 * fine as long as the test restores it. Tests that need their own cluster (3 nodes, security)
 * call {@link startKafka}.
 *
 * @example
 * ```ts
 * const { brokers } = await sharedKafka();
 * ```
 */
export function sharedKafka(): Promise<KafkaCluster> {
  shared ??= startKafka().catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}
