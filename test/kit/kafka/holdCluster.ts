/**
 * Starts a test cluster, prints `{ brokers, pgids, root }` as one JSON line and then idles until killed.
 * kafkaBroker.test.ts SIGKILLs this process to check that its JVM dies with it.
 *
 * @example
 * ```sh
 * node --import tsx test/kit/kafka/holdCluster.ts
 * ```
 */
import { dirname } from 'node:path';

import { startKafka } from '../kafkaBroker.ts';

const cluster = await startKafka();
const root = dirname(dirname(cluster.logPath(1)));
process.stdout.write(`${JSON.stringify({ brokers: cluster.brokers, pgids: cluster.nodeIds.map((id) => cluster.pgid(id)), root })}\n`);
setInterval(() => {}, 60_000);
