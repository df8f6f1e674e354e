/**
 * Kafka → Kafka benchmark: the fraud job (every decision written, as the seed does) beside a
 * passthrough job (consume → produce the same bytes, no decoding, no processing) in the same
 * run, each on a backlog and paced at 10,000 events/s. Prints events/s, latency percentiles
 * (from the moment a record is handed to the job to the broker's acknowledgement of its output)
 * and the ratio to passthrough. Each measurement runs in a fresh process, as a deployment would;
 * the paced input comes from a `sluice produce --rate` process. The fraud backlog is measured
 * three times in a row: tracing off, at the default sample rate and at 100 %, with spans really
 * exported over OTLP/HTTP (protobuf) to a receiver in this process that answers 200 and keeps
 * nothing, so creating, serialising and sending spans is part of the cost. Figures, not a test:
 * the machine is shared and noisy.
 *
 * Without --brokers it starts a real single-node Apache Kafka broker with the test kit (KRaft,
 * jars from Maven Central, on this machine's cores); with --brokers it uses your cluster.
 *
 *   npm run bench:kafka
 *   npm run bench:kafka -- --backlog 400000 --paced-seconds 20 --workers 1
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { runJob } from '../core/engine/engine.ts';
import { describeError } from '../core/errors.ts';
import { defineJob, input, output, type Job } from '../core/index.ts';
import type { KafkaSettings, Source } from '../core/job.ts';
import { resolveSettings } from '../core/settings.ts';
import { collectSink } from '../connectors/collectSink.ts';
import { kafkaSink, kafkaSource } from '../connectors/kafka/index.ts';
import { kafkaChangelogStore } from '../connectors/kafka/changelog/changelogStore.ts';
import { exactlyOnceChangelogStore } from '../connectors/kafka/changelog/exactlyOnceChangelogStore.ts';
import { kafkaTuning } from '../connectors/kafka/config.ts';
import { PartitionTransactions } from '../connectors/kafka/transactions/partitionTransactions.ts';
import type { CheckpointOptions } from '../core/checkpoint/coordinator.ts';
import fraudJob from '../jobs/fraud-detection.ts';
import { bindIO } from '../runtime/bindIO.ts';
import { InferencePool } from '../runtime/inferencePool.ts';
import { produceAll } from '../runtime/produceCommand.ts';
import { DEFAULT_SAMPLE_RATIO } from '../runtime/telemetry/sampling.ts';
import { startTelemetry, type Telemetry } from '../runtime/telemetry/telemetry.ts';
import { createTopics, startKafka, type KafkaCluster } from '../test/kit/kafka.ts';

const { values } = parseArgs({
  options: {
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS },
    backlog: { type: 'string', default: '300000' },
    'paced-rate': { type: 'string', default: '10000' },
    'paced-seconds': { type: 'string', default: '15' },
    partitions: { type: 'string', default: '16' },
    workers: { type: 'string', default: '2' },
    'max-in-flight': { type: 'string', default: '20000' },
    /** Only the at-least-once / exactly-once comparison (passthrough job, checkpoints at 100 ms and 1 s). */
    'guarantees-only': { type: 'boolean', default: false },
    /** Internal: run one measurement in this process and print it as JSON. */
    measure: { type: 'string' },
  },
});
const BACKLOG = Number(values.backlog);
const RATE = Number(values['paced-rate']);
const PACED = RATE * Number(values['paced-seconds']);
const PARTITIONS = Number(values.partitions);
const WORKERS = Number(values.workers);
const MAX_IN_FLIGHT = Number(values['max-in-flight']);
/** Latencies of the first seconds of a paced run (JIT, connections) are left out. */
const WARMUP_MS = 2000;
const repo = fileURLToPath(new URL('../', import.meta.url));
const JOBS = { passthrough: 'passthrough (consume → produce)', fraud: 'fraud-detection (Kafka → Kafka)' } as const;
type JobId = keyof typeof JOBS;
/** Tracing of a measurement: off, the default sample rate (OTEL_EXPORTER_OTLP_ENDPOINT alone), every record. */
const TRACING = { off: 'tracing off', default: `tracing ${DEFAULT_SAMPLE_RATIO * 100} %`, all: 'tracing 100 %' } as const;
type Tracing = keyof typeof TRACING;

type Guarantee = 'at-least-once' | 'exactly-once';
/** A measurement of the guarantee comparison: its mode, checkpoint interval and topics of its own. */
interface Delivery {
  guarantee: Guarantee;
  intervalMs: number;
  inputTopic: string;
  outputTopic: string;
}

interface Figures {
  eventsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  /** p99 of the main thread's event-loop delay during the run: stalls every record feels. */
  loopDelayP99: number;
}


if (values.measure !== undefined) {
  const [job, mode, tracing = 'off', guarantee, interval, inputTopic, outputTopic] = values.measure.split(':') as [JobId, 'backlog' | 'paced', Tracing?, Guarantee?, string?, string?, string?];
  const delivery = guarantee === undefined ? undefined : { guarantee, intervalMs: Number(interval), inputTopic: inputTopic!, outputTopic: outputTopic! };
  console.log(JSON.stringify(await measure(job, mode, values.brokers!.split(','), tracing, delivery)));
} else {
  await orchestrate();
}

/** Starts the cluster, loads the backlog, runs each measurement in a child process, prints. */
async function orchestrate(): Promise<void> {
  let cluster: KafkaCluster | undefined;
  let brokers: string[];
  if (values.brokers === undefined) {
    cluster = await startKafka();
    brokers = cluster.brokers;
  } else {
    brokers = values.brokers.split(',');
  }
  const topics = ['bench-backlog', 'bench-paced-passthrough', 'bench-paced-fraud', 'bench-out-passthrough', 'bench-out-fraud', 'bench-dead'];
  await createTopics(brokers, topics.map((name) => ({ name, partitions: PARTITIONS })));
  // The OTLP endpoint of the traced measurements: counts requests and bytes, answers 200, keeps nothing.
  const otlp = { requests: 0, bytes: 0 };
  const receiver = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => (otlp.bytes += chunk.length));
    request.on('end', () => {
      otlp.requests += 1;
      response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  try {
    console.log(
      `Kafka → Kafka, ${cluster === undefined ? `brokers ${brokers.join(',')}` : 'a local Apache Kafka broker (KRaft)'}, ${PARTITIONS} partitions, ` +
        `--workers ${WORKERS}, --max-in-flight ${fmt(MAX_IN_FLIGHT)}; backlog ${fmt(BACKLOG)} events, paced ${fmt(RATE)}/s for ${values['paced-seconds']} s`,
    );
    process.stdout.write(`loading the backlog (${fmt(BACKLOG)} transactions) ... `);
    console.log(`${fmt(await load(brokers, 'bench-backlog', BACKLOG))} events/s`);
    if (values['guarantees-only']) {
      await compareGuarantees(brokers, endpoint);
      return;
    }
    const results = new Map<string, Figures>();
    for (const job of Object.keys(JOBS) as JobId[]) {
      for (const mode of ['backlog', 'paced'] as const) {
        // The fraud backlog also with tracing, right after the untraced run, so the three share the machine's weather.
        for (const tracing of job === 'fraud' && mode === 'backlog' ? (Object.keys(TRACING) as Tracing[]) : (['off'] as const)) {
          const figures = await child(job, mode, brokers, tracing, endpoint);
          results.set(`${job}:${mode}${tracing === 'off' ? '' : `:${tracing}`}`, figures);
          console.log(row(`${JOBS[job]}, ${mode === 'backlog' ? 'backlog' : `paced ${fmt(RATE)}/s`}${tracing === 'off' ? '' : `, ${TRACING[tracing]}`}`, figures));
        }
      }
    }
    const pass = results.get('passthrough:backlog')!;
    const fraud = results.get('fraud:backlog')!;
    const paced = results.get('fraud:paced')!;
    console.log(`ratio fraud / passthrough, backlog:        ${(fraud.eventsPerSecond / pass.eventsPerSecond).toFixed(2)}`);
    for (const tracing of ['default', 'all'] as const) {
      const ratio = results.get(`fraud:backlog:${tracing}`)!.eventsPerSecond / fraud.eventsPerSecond;
      console.log(`${`ratio fraud backlog, ${TRACING[tracing]} / off:`.padEnd(42)} ${ratio.toFixed(2)} (cost ${((1 - ratio) * 100).toFixed(1)} % of throughput)`);
    }
    console.log(`OTLP received ${(otlp.bytes / 1024 / 1024).toFixed(1)} MiB in ${otlp.requests} export requests`);
    console.log(`target fraud backlog >= 45,000 events/s:   ${fraud.eventsPerSecond >= 45_000 ? 'met' : 'not met'} (${fmt(fraud.eventsPerSecond)})`);
    console.log(`target fraud p99 <= 60 ms at ${fmt(RATE)}/s:      ${paced.p99 <= 60 ? 'met' : 'not met'} (${paced.p99.toFixed(1)} ms)`);
    await compareGuarantees(brokers, endpoint);
  } finally {
    receiver.close();
    await cluster?.stop();
  }
}

/** One measurement in a fresh process: `tsx bench/kafka.ts --measure job:mode:tracing --brokers ...`. */
function child(job: JobId, mode: 'backlog' | 'paced', brokers: string[], tracing: Tracing, endpoint: string, delivery?: Delivery): Promise<Figures> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('OTEL_')) delete env[name];
  if (tracing !== 'off') env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
  const args = [
    '--import', 'tsx', 'bench/kafka.ts', '--measure', `${job}:${mode}:${tracing}${delivery === undefined ? '' : `:${delivery.guarantee}:${delivery.intervalMs}:${delivery.inputTopic}:${delivery.outputTopic}`}`, '--brokers', brokers.join(','),
    '--backlog', String(BACKLOG), '--paced-rate', String(RATE), '--paced-seconds', String(values['paced-seconds']),
    '--workers', String(WORKERS), '--max-in-flight', String(MAX_IN_FLIGHT),
  ];
  const process_ = spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  process_.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) =>
    process_.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Figures) : reject(new Error(`measurement ${job}:${mode} exited ${code}: ${out}`)))),
  );
}

/** The passthrough job: bytes in, the same bytes out, same key; no decoding, no processing. */
function passthroughJob(): Job {
  return defineJob({
    name: 'passthrough',
    inputs: { bytes: input('bench-backlog', { parse: (value: unknown) => value as Uint8Array }) },
    outputs: { bytes: output<Uint8Array>('bench-out-passthrough') },
    pipeline: ({ bytes }) => bytes,
  });
}

/** The job's sources and sinks on Kafka: the fraud job bound as `sluice run --brokers` binds it; passthrough with raw bytes. */
function kafkaBinding(id: JobId, settings: KafkaSettings, inputTopic: string, delivery?: Delivery & { transactions: PartitionTransactions | undefined }): { sources: Record<string, Source<unknown>>; sinks: Record<string, import('../core/job.ts').Sink<unknown>> } {
  if (id === 'fraud') {
    const binding = bindIO(fraudJob, { kafka: settings, topics: { transactions: inputTopic, decisions: 'bench-out-fraud' }, inputFiles: {}, outputFiles: {}, outputMode: 'overwrite', settings: resolveSettings(fraudJob.settings, {}) });
    return { sources: binding.sources, sinks: binding.sinks };
  }
  return {
    sources: { bytes: kafkaSource<Uint8Array>({ settings, topic: inputTopic, decode: (bytes) => bytes, log: () => {} }) as Source<unknown> },
    sinks: {
      bytes: kafkaSink<Uint8Array>({
        settings,
        topic: delivery?.outputTopic ?? 'bench-out-passthrough',
        encode: (record) => Buffer.from(record.value),
        // The input's creation time (its Kafka timestamp), for the latency a separate reader measures.
        headers: delivery === undefined ? () => ({}) : (record) => ({ created: String(record.timestamp) }),
        log: () => {},
        ...(delivery?.transactions === undefined ? {} : { transactions: delivery.transactions }),
      }) as import('../core/job.ts').Sink<unknown>,
    },
  };
}

/**
 * Runs a job from the beginning of its input (a fresh group) until every record is done.
 * Paced: starts a `sluice produce --rate` process once the job has its partitions. Traced: the
 * telemetry `sluice run` sets up, exporting to OTEL_EXPORTER_OTLP_ENDPOINT.
 */
async function measure(id: JobId, mode: 'backlog' | 'paced', brokers: string[], tracing: Tracing, delivery?: Delivery): Promise<Figures> {
  const job: Job = id === 'fraud' ? fraudJob : passthroughJob();
  const telemetry: Telemetry | undefined = tracing === 'off' ? undefined : await startTelemetry({ jobName: job.name, traceSample: tracing === 'all' ? 1 : undefined });
  const inputTopic = delivery?.inputTopic ?? (mode === 'backlog' ? 'bench-backlog' : `bench-paced-${id}`);
  const expected = mode === 'backlog' ? BACKLOG : PACED;
  const settings: KafkaSettings = { brokers, groupId: `bench-${randomUUID()}`, clientId: 'sluice-bench', start: 'earliest' };
  const transactions = delivery?.guarantee === 'exactly-once' ? new PartitionTransactions({ settings, tuning: kafkaTuning() }) : undefined;
  const binding = kafkaBinding(id, settings, inputTopic, delivery === undefined ? undefined : { ...delivery, transactions });
  const changelog = kafkaChangelogStore({ settings, topic: `${settings.groupId}-changelog` });
  const checkpoints: CheckpointOptions | undefined =
    delivery === undefined
      ? undefined
      : {
          store: transactions === undefined ? changelog : exactlyOnceChangelogStore({ restore: changelog, topic: `${settings.groupId}-changelog`, transactions, onFailure: (error) => running.fail(error) }),
          intervalMs: delivery.intervalMs,
          log: (line) => process.stderr.write(`${line}\n`),
        };
  const pool = new InferencePool({ workers: WORKERS });
  const running = runJob(job, {
    sources: telemetry?.instrumentSources(binding.sources) ?? binding.sources,
    sinks: binding.sinks,
    settings: resolveSettings(job.settings, {}),
    maxInFlight: MAX_IN_FLIGHT,
    inference: pool,
    deadLetterSink: collectSink(),
    ...(checkpoints === undefined ? {} : { checkpoints }),
    ...(telemetry === undefined ? {} : { instrumentation: telemetry.instrumentation }),
  });
  // A measurement whose job failed says why and ends, instead of waiting for records that never come.
  void running.failed.then((error) => {
    process.stderr.write(`measurement ${id}:${mode} failed: ${describeError(error)}\n`);
    process.exit(1);
  });
  let firstIn: number | undefined;
  let lastOut = 0;
  let done = 0;
  let assigned!: () => void;
  const hasPartitions = new Promise<void>((resolve) => (assigned = resolve));
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const latencies: number[] = [];
  running.instrumentation.on('source.rebalance', () => assigned());
  running.instrumentation.on('source.records', () => (firstIn ??= performance.now()));
  running.instrumentation.on('sink.written', ({ records, endedAt }) => {
    for (const record of records) {
      if (mode === 'backlog' || (firstIn !== undefined && record.receivedAt - firstIn > WARMUP_MS)) latencies.push(endedAt - record.receivedAt);
    }
    done += records.length;
    lastOut = endedAt;
    if (done >= expected) finished();
  });
  await hasPartitions;
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const producer = mode === 'paced' ? produceProcess(brokers, inputTopic, expected, RATE) : undefined;
  await allDone;
  loopDelay.disable();
  running.stop();
  await running.done;
  await producer;
  await telemetry?.stop();
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    eventsPerSecond: expected / ((lastOut - firstIn!) / 1000),
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    loopDelayP99: loopDelay.percentile(99) / 1e6,
  };
}

/** Loads the backlog from this process, before any job runs (so it competes with nothing). */
async function load(brokers: string[], topic: string, count: number): Promise<number> {
  const producer = new Kafka({ clientId: 'sluice-bench-loader', brokers, logLevel: logLevel.NOTHING }).producer({ idempotent: false });
  await producer.connect();
  try {
    const generator = fraudJob.generators(resolveSettings(fraudJob.settings, { count: String(count) })).transactions!;
    const key = fraudJob.inputs.transactions.key;
    const stats = await produceAll(generator, key === undefined ? undefined : (value) => key(value as never), { count, rate: undefined, batchSize: 10_000, garbageRatio: 0, seed: 42 }, (messages) =>
      producer.send({ topic, acks: -1, messages }),
    );
    return count / (stats.elapsedMs / 1000);
  } finally {
    await producer.disconnect();
  }
}

/** `sluice produce --rate` in its own process, as a real upstream would be. */
function produceProcess(brokers: string[], topic: string, count: number, rate: number): Promise<void> {
  const producer = spawn(
    process.execPath,
    ['--import', 'tsx', 'runtime/cli.ts', 'produce', 'jobs/fraud-detection.ts', '--brokers', brokers.join(','), '--topic', topic, '--count', String(count), '--rate', String(rate), '--set', 'seed=7', '--set', `count=${count}`],
    { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return new Promise((resolve, reject) => producer.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sluice produce exited ${code}`)))));
}

function row(label: string, f: Figures): string {
  return (
    `${label.padEnd(56)} ${fmt(f.eventsPerSecond).padStart(8)} ev/s   p50 ${f.p50.toFixed(1).padStart(6)} ms   p95 ${f.p95.toFixed(1).padStart(6)} ms` +
    `   p99 ${f.p99.toFixed(1).padStart(6)} ms   (event-loop delay p99 ${f.loopDelayP99.toFixed(0)} ms)`
  );
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/**
 * At-least-once against exactly-once, both with checkpoints (a changelog) at 100 ms and 1 s, on
 * the passthrough job: the backlog's events/s, and at the paced rate the latency a separate
 * read_committed reader (in this process) measures from each input's creation (its Kafka
 * timestamp, carried in a header) to the moment the output is visible to it. Exactly-once
 * output is visible only when its checkpoint's transaction commits, so its latency includes
 * the wait for the checkpoint.
 */
async function compareGuarantees(brokers: string[], endpoint: string): Promise<void> {
  console.log(`\nat-least-once vs exactly-once (passthrough job, checkpoints to a changelog; latency from creation to visible to a read_committed reader):`);
  const results = new Map<string, { backlog: Figures; paced: Latency }>();
  for (const intervalMs of [100, 1000]) {
    for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
      const tag = `${guarantee === 'exactly-once' ? 'eos' : 'alo'}-${intervalMs}-${randomUUID().slice(0, 6)}`;
      await createTopics(brokers, [`bench-g-out-${tag}`, `bench-g-paced-${tag}`, `bench-g-pout-${tag}`].map((name) => ({ name, partitions: PARTITIONS })));
      const backlog = await child('passthrough', 'backlog', brokers, 'off', endpoint, { guarantee, intervalMs, inputTopic: 'bench-backlog', outputTopic: `bench-g-out-${tag}` });
      const reader = visibleLatency(brokers, `bench-g-pout-${tag}`, PACED);
      await child('passthrough', 'paced', brokers, 'off', endpoint, { guarantee, intervalMs, inputTopic: `bench-g-paced-${tag}`, outputTopic: `bench-g-pout-${tag}` });
      const paced = await reader;
      results.set(`${guarantee}:${intervalMs}`, { backlog, paced });
      console.log(
        `${`${guarantee}, checkpoint every ${intervalMs} ms`.padEnd(44)} backlog ${fmt(backlog.eventsPerSecond).padStart(8)} ev/s   paced ${fmt(RATE)}/s: visible p50 ${paced.p50.toFixed(1).padStart(6)} ms  p99 ${paced.p99.toFixed(1).padStart(6)} ms`,
      );
    }
  }
  for (const intervalMs of [100, 1000]) {
    const alo = results.get(`at-least-once:${intervalMs}`)!;
    const eos = results.get(`exactly-once:${intervalMs}`)!;
    console.log(
      `${`ratio exactly-once / at-least-once, ${intervalMs} ms:`.padEnd(44)} backlog ev/s ${(eos.backlog.eventsPerSecond / alo.backlog.eventsPerSecond).toFixed(2)}   paced p99 ${(eos.paced.p99 / alo.paced.p99).toFixed(2)}`,
    );
  }
}

interface Latency {
  p50: number;
  p99: number;
}

/** Reads `topic` read_committed until `count` records arrived; latency = arrival - the `created` header (after the warm-up). */
async function visibleLatency(brokers: string[], topic: string, count: number): Promise<Latency> {
  const consumer = new Kafka({ clientId: 'sluice-bench-reader', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `bench-reader-${randomUUID()}`, maxWaitTimeInMs: 20, readUncommitted: false });
  const latencies: number[] = [];
  let seen = 0;
  let firstCreated: number | undefined;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const message of batch.messages) {
        const created = Number(message.headers?.created?.toString());
        firstCreated ??= created;
        if (created - firstCreated > WARMUP_MS) latencies.push(now - created);
        seen += 1;
      }
      if (seen >= count) finished();
    },
  });
  await done;
  await consumer.disconnect();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}
