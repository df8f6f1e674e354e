/**
 * The Apache Kafka distribution the test broker runs: jars fetched from Maven Central by
 * test/kit/kafka/fetch-jars.sh (pom in test/kit/kafka/pom.xml) into a cache shared by every
 * test run, and a formatted KRaft storage folder per kind of cluster, also cached, so starting a
 * broker costs one JVM start instead of two (the storage formatter is a JVM of its own).
 *
 * @example
 * ```ts
 * const libs = await ensureKafkaJars(); // ~/.cache/sluice-kafka/4.4.0-<pom digest>/libs
 * const template = await storageTemplate(libs, 'plain');
 * ```
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { SluiceError } from '../../core/errors.ts';

const execFileAsync = promisify(execFile);
const fetchScript = fileURLToPath(new URL('./kafka/fetch-jars.sh', import.meta.url));

/** JVM flags for a test broker: small heap, cheap to start and light on two cores. */
export const KAFKA_JVM_FLAGS: readonly string[] = [
  '-Xms128m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-Xshare:auto',
  '-Djava.awt.headless=true',
];

/** The SCRAM user every `security: 'scram'` cluster knows (created when its storage is formatted). */
export const SCRAM_USER = { username: 'sluice', password: 'sluice-test-secret' } as const;

/** Which credentials a formatted storage folder carries. */
export type StorageKind = 'plain' | 'scram';

/** The broker jars could not be fetched or a storage folder not formatted. */
export class KafkaKitError extends SluiceError {
  constructor(message: string) {
    super(message, { retriable: false });
    this.name = 'KafkaKitError';
  }
}

let jarsPromise: Promise<string> | undefined;

/**
 * Fetches the broker jars once (Maven, under a lock shared with other test processes) and
 * resolves with the folder holding them. Memoized per process.
 *
 * @example
 * ```ts
 * const libs = await ensureKafkaJars();
 * spawn('java', ['-cp', `${libs}/*`, 'kafka.Kafka', 'server.properties']);
 * ```
 */
export function ensureKafkaJars(): Promise<string> {
  jarsPromise ??= execFileAsync('sh', [fetchScript], { maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => stdout.trim().split('\n').at(-1) ?? '',
    (err: unknown) => {
      jarsPromise = undefined;
      const stderr = (err as { stderr?: string }).stderr ?? String(err);
      throw new KafkaKitError(
        `fetching the Kafka broker jars failed (needs mvn, Java 17 and Maven Central; try: sh test/kit/kafka/fetch-jars.sh): ${stderr.trim().slice(-800)}`,
      );
    },
  );
  return jarsPromise;
}

/** A random Kafka UUID (16 bytes, URL-safe base64 without padding), e.g. for `directory.id`. */
export function kafkaUuid(): string {
  return randomBytes(16).toString('base64url');
}

const templates = new Map<StorageKind, Promise<string>>();

/**
 * A KRaft storage folder formatted once per jar cache and kind (`kafka.tools.StorageTool
 * format`, static quorum, SCRAM user {@link SCRAM_USER} for 'scram'). Copy it into a node's
 * data folder and set `node.id` and `directory.id` in its meta.properties.
 *
 * @example
 * ```ts
 * await cp(await storageTemplate(libs, 'plain'), dataDir, { recursive: true });
 * ```
 */
export function storageTemplate(libs: string, kind: StorageKind): Promise<string> {
  let promise = templates.get(kind);
  if (promise === undefined) {
    promise = formatTemplate(libs, kind);
    promise.catch(() => templates.delete(kind));
    templates.set(kind, promise);
  }
  return promise;
}

async function formatTemplate(libs: string, kind: StorageKind): Promise<string> {
  const cache = dirname(libs);
  const template = join(cache, `storage-${kind}`);
  if (existsSync(join(template, 'meta.properties'))) return template;
  const work = join(cache, `storage-${kind}.partial-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'data'), { recursive: true });
  // The formatter only reads the role, node id, quorum and log dir; the ports are never opened.
  const props = join(work, 'format.properties');
  await writeFile(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      'controller.listener.names=CONTROLLER',
      'listeners=PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2',
      'controller.quorum.voters=1@127.0.0.1:2',
      `log.dirs=${join(work, 'data')}`,
      '',
    ].join('\n'),
  );
  const scram = kind === 'scram' ? ['--add-scram', `SCRAM-SHA-256=[name=${SCRAM_USER.username},password=${SCRAM_USER.password}]`] : [];
  const format = ['java', ...KAFKA_JVM_FLAGS, '-cp', `${libs}/*`, 'kafka.tools.StorageTool', 'format', '-t', kafkaUuid(), '-c', props, ...scram];
  // flock(1) as in fetch-jars.sh: one formatter at a time; the first one's result is kept.
  const script = 't=$1; shift; [ -f "$t/meta.properties" ] || { "$@" >/dev/null && mv "$0/data" "$t"; }';
  try {
    await execFileAsync('flock', ['-w', '300', join(cache, '.lock'), 'sh', '-c', script, work, template, ...format]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new KafkaKitError(`formatting Kafka storage failed (is Java 17 installed?): ${stderr.trim().slice(-800)}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return template;
}
