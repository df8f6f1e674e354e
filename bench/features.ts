/**
 * Feature store benchmark: online lookup latency (p50/p99 per call) at cache hit ratios 0, 90 and
 * 99 %, materialization throughput to Redis, the feature stage's throughput with and without
 * materializing each micro-batch, and the whole fraud job (features, materializeFeatures, ONNX
 * scoring on the worker pool) with and without the online store, side by side (alternating runs,
 * `--job-runs` rounds: each round's cost against that round's run without the store, and the median). Starts Debian's redis-server (the test kit) unless `--redis` or
 * REDIS_URL points at one. Figures, not a test.
 *
 *   npm run bench:features
 *   npm run bench:features -- --lookups 20000 --batch 1 --events 200000 --users 20000 --job-events 200000
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

/**
 * The fraud job end to end (4 partitions, the worker pool), events/s; with `url`, it materializes
 * to Redis every `writeMs` (a long one leaves only the last write: the per-event cost alone).
 */
async function jobRate(url: string | undefined, count: number, workers: number, writeMs = 1000): Promise<number> {
  const generator = new TransactionGenerator({ seed: 3, users: Number(values['job-users']) });
  const pool = testPool(workers);
  try {
    const start = performance.now();
    const { stats } = await runTestJob(fraudJob, {
      sources: { transactions: generatorSource({ name: 'transactions', count, make: () => generator.next(), key: (tx) => tx.userId, timestamp: (tx) => tx.timestamp, partitions: 4 }) },
      settings: url === undefined ? {} : { redis: url, featureWriteMs: String(writeMs) },
      inference: pool,
      maxInFlight: 4096,
    });
    if (stats.out !== count) throw new Error(`the fraud job wrote ${stats.out} of ${count} decisions`);
    return count / ((performance.now() - start) / 1000);
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
  const rounds: { without: number; with: number; bufferOnly: number }[] = [];
  const cost = (rate: number, base: number) => (1 - rate / base) * 100;
  const rate = (r: number) => Math.round(r).toLocaleString('en-US');
  // Alternate them so a noisy neighbour on a shared machine hits all alike; each round's costs
  // are against that round's run without the store (the nearest in time), then the median.
  for (let run = 0; run < runs; run++) {
    // Every other round in reverse order, so a trend in the machine's load hits no variant more.
    const order: (keyof (typeof rounds)[number])[] = run % 2 === 0 ? ['without', 'with', 'bufferOnly'] : ['bufferOnly', 'with', 'without'];
    const round = { without: 0, with: 0, bufferOnly: 0 };
    for (const variant of order) round[variant] = await jobRate(variant === 'without' ? undefined : url, jobEvents, workers, variant === 'bufferOnly' ? 600_000 : 1000);
    rounds.push(round);
    console.log(
      `fraud job round ${run + 1}: ${rate(round.without)} events/s without the online store, ${rate(round.with)} with materializeFeatures every 1000 ms (${cost(round.with, round.without).toFixed(1)} % cost), ${rate(round.bufferOnly)} buffering only (${cost(round.bufferOnly, round.without).toFixed(1)} % cost)`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const best = (pick: (r: (typeof rounds)[number]) => number) => Math.max(...rounds.map(pick));
  console.log(
    `fraud job (${jobEvents.toLocaleString('en-US')} events of ${values['job-users']} users, ${workers} worker${workers === 1 ? '' : 's'}, ${runs} rounds): online store cost per round ${rounds.map((r) => cost(r.with, r.without).toFixed(1)).join(' / ')} %, median ${median(rounds.map((r) => cost(r.with, r.without))).toFixed(1)} % (buffering only: median ${median(rounds.map((r) => cost(r.bufferOnly, r.without))).toFixed(1)} %); best of each: ${rate(best((r) => r.without))} without, ${rate(best((r) => r.with))} with (${cost(best((r) => r.with), best((r) => r.without)).toFixed(1)} % cost)`,
  );
  for (const ratio of [0, 0.9, 0.99]) {
    const r = await lookupLatency(url, entities, ratio);
    console.log(`lookup (${batchSize} entit${batchSize === 1 ? 'y' : 'ies'}/call) at ${Math.round(r.hits * 100)} % cache hits: p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms`);
  }
} finally {
  await redis?.stop();
}
