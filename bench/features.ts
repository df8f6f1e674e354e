/**
 * Feature store benchmark: online lookup latency (p50/p99 per call) at cache hit ratios 0, 90 and
 * 99 %, materialization throughput to Redis, the feature stage's throughput with and without
 * materializing each micro-batch, and the whole fraud job (features, materializeFeatures, ONNX
 * scoring on the worker pool) without the online store, with it (a write every 1000 ms) and
 * buffering only (one write at the end), alternating in `--job-runs` rounds (every other round in
 * reverse order). Each round prints its events/s and CPU µs per event (this process plus
 * redis-server, from INFO cpu) and the costs against that round's run without the store; then the
 * costs per round and their median. Starts Debian's redis-server (the test kit) unless `--redis`
 * or REDIS_URL points at one. Figures, not a test.
 *
 *   npm run bench:features
 *   npm run bench:features -- --lookups 20000 --batch 1 --events 200000 --users 20000 --job-events 500000 --job-runs 7
 */
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { parseArgs } from 'node:util';
import { computeRows, streamingUpdater, type FeatureRow } from '../core/features/index.ts';
import { onlineStore, redisUrl, type OnlineStore } from '../connectors/redis/index.ts';
import { fraudFeatures } from '../jobs/fraud/featureView.ts';
import { TransactionGenerator, type Transaction } from '../jobs/fraud/transactions.ts';
import fraudJob from '../jobs/fraud-detection.ts';
import { generatorSource } from '../connectors/generatorSource.ts';
import { Redis } from 'ioredis';
import { runTestJob, testPool } from '../test/kit/jobs.ts';
import { startRedis, type TestRedis } from '../test/kit/redis.ts';

const { values } = parseArgs({
  options: {
    redis: { type: 'string' },
    lookups: { type: 'string', default: '5000' },
    batch: { type: 'string', default: '1' },
    events: { type: 'string', default: '50000' },
    users: { type: 'string', default: '20000' },
    'job-events': { type: 'string', default: '250000' },
    'job-runs': { type: 'string', default: '5' },
    'job-users': { type: 'string', default: '5000' },
    workers: { type: 'string', default: '1' },
  },
});
const lookups = Number(values.lookups);
const batchSize = Number(values.batch);
const eventCount = Number(values.events);
const users = Number(values.users);
const MICRO_BATCH = 512;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function transactions(): Transaction[] {
  const gen = new TransactionGenerator({ seed: 9, users });
  return Array.from({ length: eventCount }, () => gen.next());
}

async function lookupLatency(url: string, entities: string[], hitRatio: number): Promise<{ p50: number; p99: number; hits: number }> {
  // refreshMs decides what the cache may answer; 0 sends every lookup to Redis.
  const store = await onlineStore({ url, refreshMs: hitRatio === 0 ? 0 : 3_600_000 });
  try {
    const hot = entities.slice(0, 1000);
    await store.lookup(fraudFeatures, hot);
    const warm = store.stats().lookup;
    let cold = 1000;
    const times = new Float64Array(lookups);
    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < lookups; i++) {
      const ask: string[] = [];
      for (let j = 0; j < batchSize; j++) {
        // A cold entity is one never looked up before (or any entity when nothing is cached).
        if (hitRatio > 0 && random() < hitRatio) ask.push(hot[Math.floor(random() * hot.length)]!);
        else ask.push(entities[cold++ % entities.length]!);
      }
      const start = performance.now();
      await store.lookup(fraudFeatures, ask);
      times[i] = performance.now() - start;
    }
    times.sort();
    const stats = store.stats().lookup;
    return { p50: percentile(times, 50), p99: percentile(times, 99), hits: (stats.cacheHits - warm.cacheHits) / (stats.entities - warm.entities) };
  } finally {
    await store.close();
  }
}

async function materializeRate(store: OnlineStore, rows: FeatureRow[]): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < rows.length; i += MICRO_BATCH) await store.materialize(rows.slice(i, i + MICRO_BATCH));
  await store.flush();
  return rows.length / ((performance.now() - start) / 1000);
}

async function featureStageRate(txs: Transaction[], store: OnlineStore | undefined): Promise<number> {
  const update = streamingUpdater(fraudFeatures);
  const start = performance.now();
  for (let i = 0; i < txs.length; i += MICRO_BATCH) {
    const rows = txs.slice(i, i + MICRO_BATCH).map((tx) => update(tx));
    // As in a job: the write runs while the next micro-batch is computed (the materializer
    // coalesces batches that arrive during a write); a checkpoint would await flush().
    if (store !== undefined) void store.materialize(rows);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (store !== undefined) await store.flush();
  return txs.length / ((performance.now() - start) / 1000);
}

/** CPU seconds redis-server has used (user + system, from INFO cpu). */
async function redisCpuSeconds(url: string): Promise<number> {
  const client = new Redis(url);
  try {
    const info = await client.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
    return field('used_cpu_user') + field('used_cpu_sys');
  } finally {
    client.disconnect();
  }
}

/** One run of the fraud job: events/s, and CPU µs per event of this process and of redis-server. */
interface JobFigures {
  rate: number;
  cpuUs: number;
}

/**
 * The fraud job end to end (4 partitions, the worker pool); with `store`, it materializes to
 * Redis every `writeMs` (a long one leaves only the last write: the per-event cost alone). CPU
 * is this process (the job and its inference threads) plus redis-server: the cost in CPU is
 * less moved by other processes on a shared machine than the events/s are.
 */
async function jobRun(url: string, store: boolean, count: number, workers: number, writeMs = 1000): Promise<JobFigures> {
  const generator = new TransactionGenerator({ seed: 3, users: Number(values['job-users']) });
  const pool = testPool(workers);
  try {
    const redisBefore = await redisCpuSeconds(url);
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const { stats } = await runTestJob(fraudJob, {
      sources: { transactions: generatorSource({ name: 'transactions', count, make: () => generator.next(), key: (tx) => tx.userId, timestamp: (tx) => tx.timestamp, partitions: 4 }) },
      settings: store ? { redis: url, featureWriteMs: String(writeMs) } : {},
      inference: pool,
      maxInFlight: 4096,
    });
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const redisCpu = (await redisCpuSeconds(url)) - redisBefore;
    if (stats.out !== count) throw new Error(`the fraud job wrote ${stats.out} of ${count} decisions`);
    return { rate: count / seconds, cpuUs: (cpu.user + cpu.system + redisCpu * 1e6) / count };
  } finally {
    await pool.close();
  }
}

let redis: TestRedis | undefined;
const url = redisUrl(values.redis) ?? (redis = await startRedis()).url;
try {
  const txs = transactions();
  const rows = computeRows(fraudFeatures, txs);
  const store = await onlineStore({ url });
  const materialized = await materializeRate(store, rows);
  const entities = [...new Set(rows.map((r) => r.entity))];
  console.log(`redis ${url}, ${rows.length} rows of ${entities.length} users, micro-batches of ${MICRO_BATCH}`);
  console.log(`materialize: ${Math.round(materialized).toLocaleString('en-US')} rows/s (MSET of packed rows, newest row per user per batch)`);
  const without = await featureStageRate(txs, undefined);
  const withStore = await featureStageRate(txs, store);
  console.log(
    `feature stage: ${Math.round(without).toLocaleString('en-US')} events/s without the online store, ${Math.round(withStore).toLocaleString('en-US')} with it (${((1 - withStore / without) * 100).toFixed(1)} % cost)`,
  );
  await store.close();
  const jobEvents = Number(values['job-events']);
  const workers = Number(values.workers);
  const runs = Number(values['job-runs']);
  type Round = Record<'without' | 'with' | 'bufferOnly', JobFigures>;
  const rounds: Round[] = [];
  const cost = (rate: number, base: number) => (1 - rate / base) * 100;
  const extra = (cpu: number, base: number) => (cpu / base - 1) * 100;
  const rate = (r: number) => Math.round(r).toLocaleString('en-US');
  const pct = (x: number) => `${x.toFixed(1)} %`;
  // Alternate them so a noisy neighbour on a shared machine hits all alike; each round's costs
  // are against that round's run without the store (the nearest in time), then the median.
  for (let run = 0; run < runs; run++) {
    // Every other round in reverse order, so a trend in the machine's load hits no variant more.
    const order: (keyof Round)[] = run % 2 === 0 ? ['without', 'with', 'bufferOnly'] : ['bufferOnly', 'with', 'without'];
    const round: Partial<Round> = {};
    for (const variant of order) round[variant] = await jobRun(url, variant !== 'without', jobEvents, workers, variant === 'bufferOnly' ? 600_000 : 1000);
    const r = round as Round;
    rounds.push(r);
    console.log(
      `fraud job round ${run + 1}: ${rate(r.without.rate)} events/s without the online store, ${rate(r.with.rate)} with materializeFeatures every 1000 ms (${pct(cost(r.with.rate, r.without.rate))} cost), ${rate(r.bufferOnly.rate)} buffering only (${pct(cost(r.bufferOnly.rate, r.without.rate))} cost); CPU per event (job + redis-server) ${r.without.cpuUs.toFixed(1)} / ${r.with.cpuUs.toFixed(1)} (+${pct(extra(r.with.cpuUs, r.without.cpuUs))}) / ${r.bufferOnly.cpuUs.toFixed(1)} µs (+${pct(extra(r.bufferOnly.cpuUs, r.without.cpuUs))})`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const costs = rounds.map((r) => cost(r.with.rate, r.without.rate));
  const cpuCosts = rounds.map((r) => extra(r.with.cpuUs, r.without.cpuUs));
  console.log(
    `fraud job (${jobEvents.toLocaleString('en-US')} events of ${values['job-users']} users, ${workers} worker${workers === 1 ? '' : 's'}, ${runs} rounds): online store throughput cost per round ${costs.map((c) => c.toFixed(1)).join(' / ')} %, median ${pct(median(costs))} (buffering only: median ${pct(median(rounds.map((r) => cost(r.bufferOnly.rate, r.without.rate))))}); CPU per event +${cpuCosts.map((c) => c.toFixed(1)).join(' / +')} %, median +${pct(median(cpuCosts))} (buffering only: median +${pct(median(rounds.map((r) => extra(r.bufferOnly.cpuUs, r.without.cpuUs))))})`,
  );
  for (const ratio of [0, 0.9, 0.99]) {
    const r = await lookupLatency(url, entities, ratio);
    console.log(`lookup (${batchSize} entit${batchSize === 1 ? 'y' : 'ies'}/call) at ${Math.round(r.hits * 100)} % cache hits: p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms`);
  }
} finally {
  await redis?.stop();
}
