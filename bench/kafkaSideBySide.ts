/**
 * Side by side on Kafka: the tutorial's scoring work (an event's 10 features → the fraud MLP →
 * every score to Kafka) done by Sluice at `--parallelism 1` (also on kafkajs as published,
 * without patches/: the "before") and `--parallelism 2`, by a hand-written kafkajs `eachBatch` +
 * onnxruntime-node loop, and the transport floor (consume only). Each implementation runs in a
 * process of its own against its own input topic: first a backlog, then paced phases at
 * 500 / 2,000 / 10,000 / 30,000 events/s from a producer process. One outside consumer (this
 * process) reads every score and every input event and takes (arrival − event creation): the
 * input events give the transport floor of the same moment, so each phase prints p99 − floor.
 * Printed as figures and as ratios to the hand-written loop and to kafkajs' own produce ceiling
 * (1,000 messages per send, measured while loading the backlogs). Figures, not a test: the
 * machine is shared, so compare ratios from one run, never absolute numbers across runs.
 *
 *   flock /tmp/heavy.lock npm run bench:side-by-side
 *   npm run bench:side-by-side -- --backlog 200000 --paced-seconds 10 --only sluice-p1,hand-written
 *   npm run bench:side-by-side -- --backlog 300000 --rates none --only sluice-p1 --profile /tmp/prof   # CPU profiles
 *   npm run bench:side-by-side -- --rates none --only sluice-p1,sluice-p2 --repeat 4   # A B, B A, A B, B A; medians
 *   npm run bench:side-by-side -- --only sluice-p1 --base HEAD~3 --variant 'sluice-p1+wait10:SLUICE_KAFKA_MAX_WAIT_MS=10'
 *
 * Every row also says who used the CPU while it ran (bench/sideBySide/cpu.ts): CPU-seconds per
 * 1,000 events of the job, the broker, the outside consumer and the paced producer, the job's
 * busiest threads, and how many of the machine's cores were busy (other work included).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { createTopics, startKafka, type KafkaCluster } from '../test/kit/kafka.ts';
import { baseCopy } from './baseCopy.ts';
import { inRoundOrder } from './roundOrder.ts';
import { CpuSampler, formatCpu, type CpuWindow } from './sideBySide/cpu.ts';
import { makeEvent } from './sideBySide/events.ts';
import { phaseFigures, ratio, type PhaseFigures } from './sideBySide/figures.ts';

const { values } = parseArgs({
  options: {
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS },
    // Long enough for every stream thread to warm up: 40,000 (the default until 2 December) was
    // under a second of Sluice's work, most of it before the JIT had warmed up.
    backlog: { type: 'string', default: '200000' },
    rates: { type: 'string', default: '500,2000,10000,30000' },
    'paced-seconds': { type: 'string', default: '5' },
    partitions: { type: 'string', default: '8' },
    only: { type: 'string' },
    /** Write V8 CPU profiles of each implementation's threads into <folder>/<implementation> (the main thread's is the largest). */
    profile: { type: 'string' },
    /** Run the chosen rows this many times, interleaved and every other round reversed (A B, B A, ...), and print medians. */
    repeat: { type: 'string', default: '1' },
    /** Also run each chosen Sluice row from this commit (a `git archive` copy), for A/B in one run: rows `<row>@base`. */
    base: { type: 'string' },
    /** Extra rows: `<row>+<name>:<VAR>=<value>[,<VAR>=<value>]`, the row with those environment variables. */
    variant: { type: 'string', multiple: true, default: [] },
    /** Sluice rows stamp when each event was decoded and scored (SBS_STAGES=1): each paced phase splits its latency. */
    stages: { type: 'boolean', default: false },
    /**
     * The local broker's group.initial.rebalance.delay.ms: Kafka's default (3 s) unless given. The
     * test kit sets 0 for quick tests, and then a job's stream threads, which join the group one
     * after the other, meet a lone first member that took every partition: the next one's join is
     * only noticed at its heartbeat (3 s), and the group rebalances in the middle of the backlog.
     */
    'rebalance-delay-ms': { type: 'string', default: '3000' },
  },
});
const BACKLOG = Number(values.backlog);
const RATES = values.rates === 'none' ? [] : values.rates!.split(',').map(Number);
const PACED_SECONDS = Number(values['paced-seconds']);
const PARTITIONS = Number(values.partitions);
/** A phase whose outputs have not all arrived this long after its producer finished fell behind. */
const CATCH_UP_MS = 5000;
const repo = fileURLToPath(new URL('../', import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));

interface Implementation {
  readonly id: string;
  readonly label: string;
  /** The process, given its topics and group. */
  readonly command: (brokers: string, input: string, output: string, dead: string, group: string) => string[];
  /** Consume-only: nothing comes out, the child reports what it read. */
  readonly floor?: boolean;
  /** Working directory of the process (another commit's copy for `--base`); the repository by default. */
  readonly cwd?: string;
  /** Environment added to the process's. */
  readonly env?: Readonly<Record<string, string>>;
}

const sluice = (parallelism: number | undefined, upstream: boolean): Implementation['command'] => (brokers, input, output, dead, group) => [
  '--import', tsx, ...(upstream ? ['--import', './bench/sideBySide/upstreamKafkajs.mjs'] : []),
  'runtime/cli.ts', 'run', 'bench/sideBySide/scoringJob.ts', '--brokers', brokers, '--topic', `events=${input}`, '--topic', `scores=${output}`,
  '--dead-letter-topic', dead, '--group', group, '--no-checkpoints', '--no-progress', '--no-typecheck', '--workers', '1',
  ...(parallelism === undefined ? [] : ['--parallelism', String(parallelism)]),
];
const handWritten = (role: 'score' | 'score-tuned' | 'floor' | 'relay'): Implementation['command'] => (brokers, input, output, _dead, group) => [
  '--import', tsx, 'bench/sideBySide/handWritten.ts', role, '--brokers', brokers, '--input', input, '--output', output, '--group', group,
];

const hasParallelism = await cliHasParallelism();
const IMPLEMENTATIONS: Implementation[] = [
  { id: 'floor', label: 'transport floor: kafkajs consume only', command: handWritten('floor'), floor: true },
  { id: 'relay', label: 'two-hop floor: kafkajs consume → produce, no work', command: handWritten('relay') },
  { id: 'hand-written', label: 'hand-written kafkajs eachBatch + onnxruntime-node', command: handWritten('score') },
  { id: 'hand-written-tuned', label: 'the same, offsets committed every 5 s (autoCommit off)', command: handWritten('score-tuned') },
  { id: 'sluice-p1-upstream', label: 'Sluice --parallelism 1, kafkajs as published (before the patch)', command: sluice(hasParallelism ? 1 : undefined, true) },
  { id: 'sluice-p1', label: 'Sluice --parallelism 1', command: sluice(hasParallelism ? 1 : undefined, false) },
  ...(hasParallelism ? [{ id: 'sluice-p2', label: 'Sluice --parallelism 2', command: sluice(2, false) }] : []),
];
const picked = values.only === undefined ? IMPLEMENTATIONS : IMPLEMENTATIONS.filter((i) => values.only!.split(',').includes(i.id));
const variants = values.variant!.map((spec): Implementation => {
  const match = /^([\w-]+)\+([\w-]+):(.+)$/.exec(spec);
  const of = IMPLEMENTATIONS.find((i) => i.id === match?.[1]);
  if (match === null || of === undefined) throw new Error(`--variant ${spec}: expected <row>+<name>:<VAR>=<value>[,...] with a row of ${IMPLEMENTATIONS.map((i) => i.id).join(', ')}`);
  const env = Object.fromEntries(match[3]!.split(',').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  return { ...of, id: `${of.id}+${match[2]}`, label: `${of.label} + ${match[3]}`, env };
});
const baseRows = values.base === undefined ? [] : picked.filter((i) => i.id.startsWith('sluice')).map((i): Implementation => ({ ...i, id: `${i.id}@base`, label: `${i.label} @ ${values.base}`, cwd: baseCopy(repo, values.base!) }));
const oneRound = [...picked, ...baseRows, ...variants];
const REPEAT = Number(values.repeat);
const chosen = Array.from({ length: REPEAT }, (_, round) => inRoundOrder(round, oneRound)).flat();
const cpu = new CpuSampler();
cpu.start();

interface Result {
  readonly implementation: Implementation;
  readonly backlog: { eventsPerSecond: number } | { failed: string };
  readonly phases: readonly PhaseFigures[];
  /** Who used the CPU over the backlog (first output → last output). */
  readonly backlogCpu?: CpuWindow;
  /**
   * The backlog after the group settled (the last assignment → the last output), when the group
   * was still forming during the backlog: with stream threads, the first thread's consumer takes
   * every partition until the next one's join is noticed (up to a heartbeat interval) and the group
   * rebalances.
   */
  readonly settled?: BacklogTail;
  /**
   * The backlog's second half (its middle instant → the last output): every thread warm (its JIT
   * and its young generation grown), which a short backlog split over N threads is not.
   */
  readonly warm?: BacklogTail;
}

/** The end of a backlog, from some instant to its last output: its outputs, their rate and who used the CPU. */
interface BacklogTail {
  readonly eventsPerSecond: number;
  readonly events: number;
  readonly cpu: CpuWindow;
}

let cluster: KafkaCluster | undefined;
const children = new Set<ChildProcess>();
process.once('SIGINT', () => {
  for (const child of children) child.kill('SIGKILL');
  void cluster?.stop().finally(() => process.exit(130));
});
try {
  let brokers: string[];
  if (values.brokers === undefined) {
    cluster = await startKafka({ serverProperties: { 'group.initial.rebalance.delay.ms': values['rebalance-delay-ms']! } });
    brokers = cluster.brokers;
  } else {
    brokers = values.brokers.split(',');
  }
  console.log(
    `Side by side on Kafka (${cluster === undefined ? brokers.join(',') : 'a local Apache Kafka 4 broker, KRaft, on these cores'}), ${PARTITIONS} partitions: ` +
      `backlog ${fmt(BACKLOG)} events, then ${RATES.map(fmt).join(' / ')} events/s for ${PACED_SECONDS} s each; latency = score arrival − event creation, taken by one outside consumer` +
      (hasParallelism ? '' : '\n(--parallelism is not in this checkout yet: Sluice runs on one stream thread, and the --parallelism 2 row is left out)'),
  );
  const produceCeilings: number[] = [];
  const results: Result[] = [];
  for (const implementation of chosen) {
    const result = await measure(implementation, brokers, produceCeilings);
    results.push(result);
    console.log(row(result));
  }
  report(results, produceCeilings);
  if (REPEAT > 1) medians(results);
  ratios(results, produceCeilings);
  overRelay(results);
} finally {
  cpu.stop();
  for (const child of children) child.kill('SIGKILL');
  await cluster?.stop();
}

/** Runs one implementation through the backlog and the paced phases. */
async function measure(implementation: Implementation, brokers: string[], produceCeilings: number[]): Promise<Result> {
  const run = `${implementation.id.replace(/[^\w.-]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const [input, output, dead] = [`sbs-in-${run}`, `sbs-out-${run}`, `sbs-dead-${run}`];
  await createTopics(brokers, [input, output, dead].map((name) => ({ name, partitions: PARTITIONS })));
  produceCeilings.push(await load(brokers, input, BACKLOG));
  const watch = await watchTopics(brokers, input, output);
  const profile = values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}/${implementation.id}`];
  // A variant's NODE_ARGS are Node's own flags (V8's too) for the implementation's process.
  const nodeArgs = implementation.env?.NODE_ARGS?.split(' ').filter((arg) => arg !== '') ?? [];
  const child = spawn(process.execPath, [...profile, ...nodeArgs, ...implementation.command(brokers.join(','), input, output, dead, `sbs-${run}`)], {
    cwd: implementation.cwd ?? repo,
    // onnxruntime's telemetry off for every row, as Sluice has it (runtime/onnxTelemetry.ts): the
    // hand-written loop would otherwise pay for it alone.
    env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', ...(values.stages && implementation.id.startsWith('sluice') ? { SBS_STAGES: '1' } : {}), ...implementation.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  cpu.watch(child.pid!);
  let floorRead = { consumed: 0, firstAt: undefined as number | undefined, at: 0 };
  let stderr = '';
  // The group's assignments, timed: with stream threads each thread's consumer joins when its thread is ready.
  const assignments: { at: number; line: string }[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    for (const line of chunk.toString().split('\n')) if (/assigned/.test(line)) assignments.push({ at: Date.now(), line: line.trim() });
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{"consumed"')) floorRead = JSON.parse(line) as typeof floorRead;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    let backlog: Result['backlog'];
    let backlogCpu: CpuWindow | undefined;
    let settled: Result['settled'];
    let warm: Result['warm'];
    const done = () => (implementation.floor === true ? floorRead.consumed >= BACKLOG : watch.outputs(0, BACKLOG).count >= BACKLOG);
    const failed = await until(done, 120_000, exited);
    if (failed !== undefined) backlog = { failed: `${failed}${errorLine(stderr)}` };
    else if (implementation.floor === true) {
      backlog = { eventsPerSecond: BACKLOG / ((floorRead.at - floorRead.firstAt!) / 1000) };
      backlogCpu = cpu.window(floorRead.firstAt!, floorRead.at);
    } else {
      const seen = watch.outputs(0, BACKLOG);
      backlog = { eventsPerSecond: BACKLOG / ((seen.lastArrival - seen.firstArrival) / 1000) };
      backlogCpu = cpu.window(seen.firstArrival, seen.lastArrival);
      for (const { at, line } of assignments) console.log(`    ${at - seen.firstArrival >= 0 ? '+' : ''}${at - seen.firstArrival} ms from the first output (last at +${seen.lastArrival - seen.firstArrival}): ${line.slice(0, 160)}`);
      // A tail under half a second is too short for its rate or its CPU samples (every 100 ms).
      const tail = (since: number): BacklogTail | undefined => {
        if (seen.lastArrival - since <= 500) return undefined;
        const events = watch.arrivedBetween(0, BACKLOG, since, seen.lastArrival);
        return { events, eventsPerSecond: events / ((seen.lastArrival - since) / 1000), cpu: cpu.window(since, seen.lastArrival) };
      };
      const lastAssigned = assignments.at(-1)?.at;
      if (lastAssigned !== undefined && lastAssigned > seen.firstArrival) settled = tail(lastAssigned);
      warm = tail((seen.firstArrival + seen.lastArrival) / 2);
    }
    const phases: PhaseFigures[] = [];
    let first = BACKLOG;
    for (const rate of 'failed' in backlog ? [] : RATES) {
      const count = Math.round(rate * PACED_SECONDS);
      const pacedFrom = Date.now();
      await paced(brokers, input, first, count, rate);
      const pacedCpu = cpu.window(pacedFrom, Date.now());
      const settled = implementation.floor === true ? floorRead.consumed >= first + count : watch.outputs(first, first + count).count >= count;
      if (!settled) await until(() => (implementation.floor === true ? floorRead.consumed >= first + count : watch.outputs(first, first + count).count >= count), CATCH_UP_MS, exited);
      // The first second of a phase (the rate stepping up) is left out of its percentiles.
      const skip = Math.min(rate, Math.floor(count / 4));
      phases.push(phaseFigures(rate, count, watch.inputs(first + skip, first + count), implementation.floor === true ? undefined : watch.outputs(first + skip, first + count), count - skip));
      if (values.stages && implementation.id.startsWith('sluice')) console.log(`    ${fmt(rate)}/s floor p50/p99 ${phases.at(-1)!.floor.p50.toFixed(0)}/${phases.at(-1)!.floor.p99.toFixed(0)} ms; ${stageLine(watch.stages(first + skip, first + count))}`);
      // What the machine was doing while the phase ran: at low rates every hop waits for a core.
      if (values.stages) console.log(formatCpu(pacedCpu, count, `${fmt(rate)}/s: cpu`));
      first += count;
    }
    return { implementation, backlog, phases, backlogCpu, settled, warm };
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    children.delete(child);
    await watch.stop();
  }
}

/** Loads `count` events with kafkajs, 1,000 per send: also kafkajs' own produce ceiling here. */
async function load(brokers: string[], topic: string, count: number): Promise<number> {
  const producer = new Kafka({ clientId: 'sbs-loader', brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  const started = performance.now();
  for (let first = 0; first < count; first += 1000) {
    const messages: Message[] = [];
    for (let id = first; id < Math.min(count, first + 1000); id += 1) messages.push(makeEvent(id));
    await producer.send({ topic, acks: -1, messages });
  }
  const eventsPerSecond = count / ((performance.now() - started) / 1000);
  await producer.disconnect();
  return eventsPerSecond;
}

/** The paced upstream, a process of its own: `count` events from id `first` at `rate`/s. */
async function paced(brokers: string[], topic: string, first: number, count: number, rate: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', tsx, 'bench/sideBySide/handWritten.ts', 'produce', '--brokers', brokers.join(','), '--output', topic, '--first', String(first), '--count', String(count), '--rate', String(rate)], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  cpu.role(child.pid!, 'producer');
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  children.delete(child);
  if (code !== 0) throw new Error(`the paced producer exited ${code}`);
}

/** Latencies by event id, as the outside consumer saw them. */
interface Seen {
  count: number;
  firstArrival: number;
  lastArrival: number;
  /** arrival − creation, ms, of each event seen in the range. */
  latencies: Float64Array;
}

/** The outside consumer: reads the input topic (the floor) and the output topic, noting (arrival − creation) per event id. */
async function watchTopics(brokers: string[], input: string, output: string) {
  const size = BACKLOG + RATES.reduce((sum, rate) => sum + Math.round(rate * PACED_SECONDS), 0);
  const arrivals = { [input]: new Float64Array(size).fill(NaN), [output]: new Float64Array(size).fill(NaN) };
  const created = new Float64Array(size);
  // With --stages: when the job decoded each event and had its score (epoch ms).
  const decoded = new Float64Array(size).fill(NaN);
  const scored = new Float64Array(size).fill(NaN);
  const batched = new Float64Array(size).fill(NaN);
  const sent = new Float64Array(size).fill(NaN);
  const consumer = new Kafka({ clientId: 'sbs-watch', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `sbs-watch-${randomUUID()}`, maxWaitTimeInMs: 20 });
  await consumer.connect();
  // The input is read for the paced phases' floor only: from its end (the backlog is loaded by now),
  // so the outside consumer does not decode the whole backlog beside the implementation (it took
  // about a quarter of the machine doing so).
  await consumer.subscribe({ topics: [input], fromBeginning: false });
  await consumer.subscribe({ topics: [output], fromBeginning: true });
  let assigned!: () => void;
  const ready = new Promise<void>((resolve) => (assigned = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => assigned());
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    // An observer makes nothing durable; kafkajs' default commit after every batch would hold its
    // next fetch for a round trip per partition and add to every figure it takes.
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const arrival = Date.now();
      const into = arrivals[batch.topic]!;
      for (const message of batch.messages) {
        const { id, createdAt, decodedAt, batchedAt, scoredAt } = JSON.parse(message.value!.toString()) as { id: number; createdAt: number; decodedAt?: number; batchedAt?: number; scoredAt?: number };
        if (decodedAt !== undefined && scoredAt !== undefined && id < size) {
          decoded[id] = decodedAt;
          batched[id] = batchedAt ?? NaN;
          scored[id] = scoredAt;
          // The output's Kafka timestamp: when the job's producer built its request.
          sent[id] = Number(message.timestamp);
        }
        if (id < size && Number.isNaN(into[id]!)) {
          into[id] = arrival;
          created[id] = createdAt;
        }
      }
    },
  });
  await ready;
  const seen = (topic: string, from: number, to: number): Seen => {
    const into = arrivals[topic]!;
    const latencies: number[] = [];
    let firstArrival = Infinity;
    let lastArrival = -Infinity;
    for (let id = from; id < to; id += 1) {
      const arrival = into[id]!;
      if (Number.isNaN(arrival)) continue;
      latencies.push(arrival - created[id]!);
      firstArrival = Math.min(firstArrival, arrival);
      lastArrival = Math.max(lastArrival, arrival);
    }
    return { count: latencies.length, firstArrival, lastArrival, latencies: Float64Array.from(latencies) };
  };
  return {
    /** Each stamped event's (created, decoded, scored, arrived) of events `from`..`to`. */
    stages: (from: number, to: number): Stamped[] => {
      const out: Stamped[] = [];
      for (let id = from; id < to; id += 1) {
        if (Number.isNaN(decoded[id]!) || Number.isNaN(arrivals[output]![id]!)) continue;
        out.push({ created: created[id]!, decoded: decoded[id]!, batched: batched[id]!, scored: scored[id]!, sent: sent[id]!, arrived: arrivals[output]![id]! });
      }
      return out;
    },
    /** How many outputs of events `from`..`to` arrived between the times `since` and `until`. */
    arrivedBetween: (from: number, to: number, since: number, until: number) => {
      let count = 0;
      for (let id = from; id < to; id += 1) if (arrivals[output]![id]! >= since && arrivals[output]![id]! <= until) count += 1;
      return count;
    },
    inputs: (from: number, to: number) => seen(input, from, to),
    outputs: (from: number, to: number) => seen(output, from, to),
    stop: () => consumer.disconnect(),
  };
}

/** Polls `done` every 100 ms; resolves undefined when it holds, else why not (timed out, the process exited). */
async function until(done: () => boolean, timeoutMs: number, exited: Promise<number | null>): Promise<string | undefined> {
  let exit: number | null | undefined;
  void exited.then((code) => (exit = code));
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (exit !== undefined) return `exited ${exit}`;
    if (performance.now() > deadline) return `not done after ${timeoutMs / 1000} s`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

function row({ implementation, backlog, phases, backlogCpu, settled, warm }: Result): string {
  const head = `${implementation.label.padEnd(62)} ${'failed' in backlog ? `backlog FAILED (${backlog.failed})` : `backlog ${fmt(backlog.eventsPerSecond).padStart(7)} ev/s`}`;
  const paced = phases.map((p) => `${fmt(p.rate)}/s: ${p.fellBehind ? `FELL BEHIND (${p.arrivedShare}% in time)` : implementation.floor === true ? `floor p50 ${p.floor.p50.toFixed(1)} p99 ${p.floor.p99.toFixed(1)} ms` : `p50 ${p.p50.toFixed(1)} p99 ${p.p99.toFixed(1)} ms, p99 − floor ${p.p99OverFloor.toFixed(1)} ms`}`);
  const tailLines = (label: string, tail: BacklogTail | undefined) => (tail === undefined ? [] : [`    ${label}: ${fmt(tail.eventsPerSecond)} ev/s (${fmt(tail.events)} events)`, formatCpu(tail.cpu, tail.events)]);
  return [
    head,
    ...(backlogCpu === undefined ? [] : [formatCpu(backlogCpu, BACKLOG)]),
    ...tailLines('after the group settled', settled),
    ...tailLines("the backlog's second half (warm)", warm),
    ...paced.map((line) => `    ${line}`),
  ].join('\n');
}

function report(results: Result[], produceCeilings: number[]): void {
  console.log(`\nkafkajs produce ceiling (1,000 per send, lower median of the ${produceCeilings.length} backlog loads, as every median here): ${fmt(median(produceCeilings))} events/s`);
  // With --repeat the latencies are in medians(): a row id is in every round.
  if (REPEAT > 1) return;
  const handPhases = results.find((r) => r.implementation.id === 'hand-written')?.phases ?? [];
  for (const result of results.filter((r) => r.implementation.id.startsWith('sluice'))) {
    const parts = result.phases.map((p) => {
      const theirs = handPhases.find((h) => h.rate === p.rate);
      return `${fmt(p.rate)}/s p50 ${theirs === undefined || theirs.fellBehind || p.fellBehind ? 'n/a' : ratio(p.p50, theirs.p50)}`;
    });
    console.log(`  ${result.implementation.id.padEnd(20)} latency vs hand-written: ${parts.join(', ')}`);
  }
}

/** With --repeat: each row's median backlog and p99 − floor per rate. */
function medians(results: Result[]): void {
  console.log(`\nmedians of ${REPEAT} rounds (lower median for an even count):`);
  for (const implementation of oneRound) {
    const mine = results.filter((r) => r.implementation.id === implementation.id);
    const backlogs = mine.flatMap((r) => ('failed' in r.backlog ? [] : [r.backlog.eventsPerSecond]));
    const perRate = RATES.map((rate) => {
      const phases = mine.flatMap((r) => r.phases.filter((p) => p.rate === rate && !p.fellBehind));
      return `${fmt(rate)}/s p50 ${median(phases.map((p) => p.p50)).toFixed(1)} p99−floor ${median(phases.map((p) => p.p99OverFloor)).toFixed(1)} ms [${phases.map((p) => p.p99OverFloor.toFixed(0)).join(', ')}] (${phases.length} runs)`;
    });
    const jobCpu = mine.flatMap((r) => (r.backlogCpu === undefined || r.backlogCpu.seconds === 0 ? [] : [((r.backlogCpu.byRole.get('job') ?? 0) / BACKLOG) * 1000]));
    const settledRates = mine.flatMap((r) => (r.settled === undefined ? [] : [r.settled.eventsPerSecond]));
    const settledPart = settledRates.length === 0 ? '' : `, after the group settled ${fmt(median(settledRates))} ev/s [${settledRates.map(fmt).join(', ')}]`;
    const warmRates = mine.flatMap((r) => (r.warm === undefined ? [] : [r.warm.eventsPerSecond]));
    const warmCpu = mine.flatMap((r) => (r.warm === undefined || r.warm.cpu.seconds === 0 ? [] : [((r.warm.cpu.byRole.get('job') ?? 0) / r.warm.events) * 1000]));
    const warmPart = warmRates.length === 0 ? '' : `, second half ${fmt(median(warmRates))} ev/s [${warmRates.map(fmt).join(', ')}] at ${median(warmCpu).toFixed(3)} cpu-s/1k ev`;
    console.log(`  ${implementation.id.padEnd(24)} backlog ${fmt(median(backlogs))} ev/s [${backlogs.map(fmt).join(', ')}]${settledPart}${warmPart}, job ${median(jobCpu).toFixed(3)} cpu-s/1k ev${perRate.length === 0 ? '' : `; ${perRate.join('; ')}`}`);
  }
}

/**
 * Each round's own ratios (A/B within a round; with --repeat, then the median): every row to the
 * round's produce ceiling and to the hand-written loop (or the round's first row without it),
 * p2 to p1, and p1 to p1 on kafkajs as published.
 */
function ratios(results: Result[], produceCeilings: readonly number[]): void {
  console.log(REPEAT === 1 ? 'ratios (same run):' : `ratios, each round's own (${REPEAT} rounds):`);
  const inRound = (round: number, id: string) => {
    const at = results.findIndex((r, i) => i >= round * oneRound.length && i < (round + 1) * oneRound.length && r.implementation.id === id);
    const result = results[at];
    return result === undefined || 'failed' in result.backlog ? undefined : { backlog: result.backlog.eventsPerSecond, warm: result.warm?.eventsPerSecond };
  };
  const roundCeiling = (round: number) => median(produceCeilings.slice(round * oneRound.length, (round + 1) * oneRound.length));
  const perRound = (label: string, of: (round: number) => { backlog: number; warm?: number } | undefined, to: (round: number) => { backlog: number; warm?: number } | undefined) => {
    const backlogRatios: number[] = [];
    const warmRatios: number[] = [];
    for (let round = 0; round < REPEAT; round += 1) {
      const [a, b] = [to(round), of(round)];
      if (a === undefined || b === undefined) continue;
      backlogRatios.push(b.backlog / a.backlog);
      if (a.warm !== undefined && b.warm !== undefined) warmRatios.push(b.warm / a.warm);
    }
    if (backlogRatios.length === 0) return;
    const list = (xs: number[]) => (REPEAT === 1 ? `${xs[0]!.toFixed(2)} ×` : `per round ${xs.map((r) => r.toFixed(2)).join(', ')} → median ${median(xs).toFixed(2)}`);
    console.log(`  ${label}, backlog: ${list(backlogRatios)}${warmRatios.length === 0 ? '' : `; its second half: ${list(warmRatios)}`}`);
  };
  const base = oneRound.find((i) => i.id === 'hand-written') ?? oneRound[0]!;
  // The ceiling is a warm producer's (the bench's own, loading every row's backlog), so a row's warm
  // second half is set against it too: the whole backlog also holds the row's start (JIT, young generation).
  for (const implementation of oneRound.filter((i) => i.floor !== true)) {
    perRound(`${implementation.id} / the round's produce ceiling`, (round) => inRound(round, implementation.id), (round) => ({ backlog: roundCeiling(round), warm: roundCeiling(round) }));
  }
  for (const other of oneRound.filter((i) => i !== base && i.floor !== true)) perRound(`${other.id} / ${base.id}`, (round) => inRound(round, other.id), (round) => inRound(round, base.id));
  if (base.id !== 'sluice-p1' && oneRound.some((i) => i.id === 'sluice-p1') && oneRound.some((i) => i.id === 'sluice-p2')) {
    perRound('sluice-p2 / sluice-p1', (round) => inRound(round, 'sluice-p2'), (round) => inRound(round, 'sluice-p1'));
  }
  perRound('sluice-p1 / sluice-p1 on kafkajs as published (the patch)', (round) => inRound(round, 'sluice-p1'), (round) => inRound(round, 'sluice-p1-upstream'));
}

/**
 * What each row adds to Kafka-to-Kafka transport itself: its p99 less the relay's (which crosses
 * Kafka twice, as every output does), per rate, medians over the rounds (one round: its figures).
 */
function overRelay(results: Result[]): void {
  if (!oneRound.some((i) => i.id === 'relay')) return;
  const p99 = (id: string, rate: number) => median(results.filter((r) => r.implementation.id === id).flatMap((r) => r.phases.filter((p) => p.rate === rate && !p.fellBehind).map((p) => p.p99)));
  for (const implementation of oneRound.filter((i) => i.floor !== true && i.id !== 'relay')) {
    const parts = RATES.map((rate) => {
      const over = p99(implementation.id, rate) - p99('relay', rate);
      return `${fmt(rate)}/s ${Number.isNaN(over) ? 'n/a' : `${over.toFixed(0)} ms`}`;
    });
    console.log(`  ${implementation.id.padEnd(24)} p99 − the relay's p99 (two-hop floor${REPEAT > 1 ? ', medians' : ''}): ${parts.join(', ')}`);
  }
}

interface Stamped {
  readonly created: number;
  readonly decoded: number;
  readonly batched: number;
  readonly scored: number;
  readonly sent: number;
  readonly arrived: number;
}

/**
 * Where a phase's time went: input hop (created → decoded by the job: the producer, Kafka and the
 * job's fetch), the job's queue (decoded → its features read for a model call: admission, the
 * batch, waiting for a free scoring slot), the pool (→ the score back on the job's thread) and
 * the output hop (scored → arrival at the outside consumer: encode, produce and its
 * acknowledgement, Kafka, the outside fetch), as p50 / p99 each, and the mean of each part over
 * the slowest 1 % of records (what makes the p99). The output hop is split at the output's Kafka
 * timestamp (when the job's producer built its request): `sink` before it, `kafka` after.
 */
function stageLine(stamped: Stamped[]): string {
  if (stamped.length === 0) return 'stages: none stamped';
  const q = (xs: number[], at: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(at * xs.length))]!;
  const parts = { in: (s: Stamped) => s.decoded - s.created, queue: (s: Stamped) => s.batched - s.decoded, pool: (s: Stamped) => s.scored - s.batched, sink: (s: Stamped) => s.sent - s.scored, kafka: (s: Stamped) => s.arrived - s.sent };
  // By total latency, fastest first: the slowest 1 % is its end, a typical record its middle.
  const byTotal = [...stamped].sort((a, b) => a.arrived - a.created - (b.arrived - b.created));
  const slowest = byTotal.slice(-Math.max(1, Math.floor(stamped.length / 100)));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const each = Object.entries(parts).map(([name, f]) => `${name} ${q(stamped.map(f), 0.5).toFixed(0)}/${q(stamped.map(f), 0.99).toFixed(0)}`);
  const tail = Object.entries(parts).map(([name, f]) => `${name} ${mean(slowest.map(f)).toFixed(1)}`);
  // A typical record's split: the stages' p50s need not add up to the whole's p50 (each stage's
  // slow records are different ones), so also the mean of each part over the middle tenth.
  const middle = byTotal.slice(Math.floor(byTotal.length * 0.45), Math.max(Math.floor(byTotal.length * 0.45) + 1, Math.floor(byTotal.length * 0.55)));
  const typical = Object.entries(parts).map(([name, f]) => `${name} ${mean(middle.map(f)).toFixed(1)}`);
  // The job's own time, with neither Kafka hop in it: what it adds between its fetch and its produce request.
  const own = stamped.map((s) => s.sent - s.decoded);
  return `stages p50/p99 ms: ${each.join(', ')}; job's own (decoded → request built) ${q(own, 0.5).toFixed(0)}/${q(own, 0.99).toFixed(0)}; slowest 1 % (${slowest.length}) mean ms: ${tail.join(', ')}; middle tenth (45–55 %) mean ms: ${typical.join(', ')}`;
}

/** `: ` and the error's own line from a child's stderr: not Node's version banner, a stack frame or the error's fields after it. */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((line) => line.trim() !== '' && !/^\s+at |^Node\.js v/.test(line));
  const said = [...lines].reverse().find((line) => /^\w*Error\b/.test(line)) ?? lines.at(-1);
  return said === undefined ? '' : `: ${said.trim()}`;
}

/** The lower median (NaN for none). */
function median(xs: number[]): number {
  return xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Whether this checkout's `sluice run` has --parallelism (stream threads). */
async function cliHasParallelism(): Promise<boolean> {
  const child = spawn(process.execPath, ['--import', tsx, 'runtime/cli.ts', 'run', '--help'], { cwd: repo, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return out.includes('--parallelism');
}
