/**
 * server.properties of a test Kafka node: combined broker + controller (KRaft, static quorum of
 * every node), three loopback listeners (CLIENT for tests, INTERNAL between brokers,
 * CONTROLLER for the quorum) and settings that make a small cluster quick and light.
 *
 * @example
 * ```ts
 * const text = serverProperties({ node, cluster: [node], dataDir, security: 'none', overrides: {} });
 * ```
 */
import type { KafkaSecurity, TlsMaterial } from './kafkaSecurity.ts';
import { clientListenerProperties, clientProtocol } from './kafkaSecurity.ts';

/** Where one node listens. */
export interface NodePorts {
  nodeId: number;
  client: number;
  internal: number;
  controller: number;
}

/** Input of {@link serverProperties}. */
export interface ServerPropertiesInput {
  node: NodePorts;
  /** Every node of the cluster, this one included: the controller quorum. */
  cluster: readonly NodePorts[];
  dataDir: string;
  security: KafkaSecurity;
  tls?: TlsMaterial;
  /** Extra or replacing settings, e.g. `{ 'log.retention.ms': '1000' }`. */
  overrides: Readonly<Record<string, string>>;
}

const HOST = '127.0.0.1';

/**
 * The settings of one node as `key=value` lines. Replication settings follow the cluster size:
 * one node needs factor 1 for `__consumer_offsets` and the transaction log; three nodes get
 * factor 3 with min ISR 2, so one node can die without stopping commits or transactions.
 *
 * @example
 * ```ts
 * await writeFile(join(dir, 'server.properties'), serverProperties(input));
 * ```
 */
export function serverProperties(input: ServerPropertiesInput): string {
  const { node, cluster } = input;
  const rf = cluster.length >= 3 ? 3 : 1;
  const minIsr = rf === 3 ? 2 : 1;
  const settings = new Map<string, string>([
    ['process.roles', 'broker,controller'],
    ['node.id', String(node.nodeId)],
    ['controller.quorum.voters', cluster.map((n) => `${n.nodeId}@${HOST}:${n.controller}`).join(',')],
    ['listeners', `CLIENT://${HOST}:${node.client},INTERNAL://${HOST}:${node.internal},CONTROLLER://${HOST}:${node.controller}`],
    ['advertised.listeners', `CLIENT://${HOST}:${node.client},INTERNAL://${HOST}:${node.internal}`],
    ['listener.security.protocol.map', `CLIENT:${clientProtocol(input.security)},INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT`],
    ['inter.broker.listener.name', 'INTERNAL'],
    ['controller.listener.names', 'CONTROLLER'],
    ['log.dirs', input.dataDir],
    // Tests create their topics; a misspelt name must fail, not appear.
    ['auto.create.topics.enable', 'false'],
    ['num.partitions', '1'],
    ['default.replication.factor', String(rf)],
    ['min.insync.replicas', String(minIsr)],
    ['offsets.topic.replication.factor', String(rf)],
    ['offsets.topic.num.partitions', '5'],
    ['transaction.state.log.replication.factor', String(rf)],
    ['transaction.state.log.min.isr', String(minIsr)],
    ['transaction.state.log.num.partitions', '5'],
    ['share.coordinator.state.topic.replication.factor', String(rf)],
    ['share.coordinator.state.topic.min.isr', String(minIsr)],
    // A fresh group assigns at once instead of waiting 3 s for more members.
    ['group.initial.rebalance.delay.ms', '0'],
    // Lets tests pick session timeouts below the broker's default floor of 6 s.
    ['group.min.session.timeout.ms', '500'],
    // A dead node is fenced (and its partitions' leadership moves) within a few seconds.
    ['broker.heartbeat.interval.ms', '500'],
    ['broker.session.timeout.ms', '4000'],
    // Fewer threads and a small compaction buffer: the broker shares two cores and a 512 MB heap.
    ['num.network.threads', '2'],
    ['num.io.threads', '2'],
    ['num.replica.fetchers', '1'],
    ['background.threads', '2'],
    ['log.cleaner.threads', '1'],
    ['log.cleaner.dedupe.buffer.size', String(16 * 1024 * 1024)],
    ['log.cleaner.backoff.ms', '1000'],
  ]);
  for (const line of clientListenerProperties(input.security, input.tls)) {
    const eq = line.indexOf('=');
    settings.set(line.slice(0, eq), line.slice(eq + 1));
  }
  for (const [key, value] of Object.entries(input.overrides)) settings.set(key, value);
  return `${[...settings].map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}
