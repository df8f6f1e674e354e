/**
 * A class-data-sharing archive of the classes a Kafka broker loads at start, made once per jar
 * cache (test/kit/kafka/make-class-archive.sh) and mapped by every later broker JVM: on two busy
 * cores a broker answered after ~5-7 s with it instead of ~9.5-10 s without. Optional: when it
 * cannot be made, brokers start without it (SLUICE_KAFKA_DEBUG=1 prints why).
 *
 * @example
 * ```ts
 * const flags = await classArchiveFlags(libs, template); // ['-XX:SharedArchiveFile=...'] or []
 * ```
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { serverProperties } from './kafkaConfig.ts';
import { KAFKA_JVM_FLAGS } from './kafkaJars.ts';
import { freePorts } from './kafkaPorts.ts';

const execFileAsync = promisify(execFile);
const script = fileURLToPath(new URL('./kafka/make-class-archive.sh', import.meta.url));

let flags: Promise<string[]> | undefined;

/**
 * JVM flags that map the broker class archive of this jar cache, making it first if needed (one
 * broker start and stop, ~10 s, under the cache's lock). Resolves `[]` if that fails.
 *
 * @example
 * ```ts
 * spawn('java', [...KAFKA_JVM_FLAGS, ...(await classArchiveFlags(libs, template)), '-cp', ...]);
 * ```
 */
export function classArchiveFlags(libs: string, template: string): Promise<string[]> {
  flags ??= makeArchive(libs, template).then(
    (archive) => (archive === undefined ? [] : [`-XX:SharedArchiveFile=${archive}`]),
    (err: unknown) => {
      if (process.env.SLUICE_KAFKA_DEBUG === '1') console.error(err);
      return [];
    },
  );
  return flags;
}

async function makeArchive(libs: string, template: string): Promise<string | undefined> {
  const cache = dirname(libs);
  const archive = join(cache, 'kafka-classes.jsa');
  if (existsSync(archive)) return archive;
  const work = await mkdtemp(join(tmpdir(), 'sluice-kafka-cds-'));
  try {
    const dataDir = join(work, 'data');
    await cp(template, dataDir, { recursive: true });
    const [client, internal, controller] = await freePorts(3);
    const node = { nodeId: 1, client: client!, internal: internal!, controller: controller! };
    const props = join(work, 'server.properties');
    await writeFile(props, serverProperties({ node, cluster: [node], dataDir, security: 'none', overrides: {} }));
    const java = ['java', `-XX:ArchiveClassesAtExit=${archive}.partial`, ...KAFKA_JVM_FLAGS, '-cp', `${libs}/*`, 'kafka.Kafka', props];
    await execFileAsync('flock', ['-w', '300', join(cache, '.lock'), 'sh', script, archive, join(work, 'broker.log'), ...java], { timeout: 300_000 });
    return existsSync(archive) ? archive : undefined;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
