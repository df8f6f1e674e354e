/**
 * Model lifecycle benchmark, in one process tree: the fraud job (features, micro-batched ONNX on
 * the worker pool) serving a registry, run steady, then with hot swaps mid-stream (a new version
 * copied into the registry and validated — fixtures and held-out AUC — while records flow), then
 * with a shadow model scoring every batch too. Prints throughput, p99 latency and the longest
 * pause between sink writes of each, and the ratios: what a swap costs while it happens, and
 * what shadow scoring costs per event. Figures, not a test.
 *
 *   npm run bench:models
 *   npm run bench:models -- --events 200000 --swaps 4 --workers 2 --runs 2
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { generatorSource } from '../connectors/generatorSource.ts';
import type { Sink } from '../core/job.ts';
import fraudJob from '../jobs/fraud-detection.ts';
import { TransactionGenerator } from '../jobs/fraud/transactions.ts';
import { InferencePool } from '../runtime/inferencePool.ts';
import { runTestJob } from '../test/kit/jobs.ts';
import { registryWithV1, writeVersion } from '../test/runtime/models/liveKit.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    swaps: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    runs: { type: 'string', default: '1' },
  },
});
const events = Number(values.events);
const swaps = Number(values.swaps);
const workers = Number(values.workers);
const runs = Number(values.runs);

interface Figures {
  rate: number;
  p99: number;
  maxGapMs: number;
  versions: number;
}

/** A sink that only measures: the longest time between two writes (a stall shows here). */
function gapSink(): Sink<unknown> & { maxGapMs: number; versions: Set<string> } {
  let last: number | undefined;
  const sink = {
    name: 'gaps',
    maxGapMs: 0,
    versions: new Set<string>(),
    async write(records: readonly { value: unknown }[]) {
      const now = performance.now();
      if (last !== undefined) sink.maxGapMs = Math.max(sink.maxGapMs, now - last);
      last = now;
      for (const record of records) sink.versions.add((record.value as { modelVersion: string }).modelVersion);
    },
  };
  return sink;
}

async function run(kind: 'steady' | 'swaps' | 'shadow', count = events): Promise<Figures> {
  const registry = registryWithV1();
  // The shadow is a second version (same weights: the cost is the scoring, not disagreement).
  if (kind === 'shadow') writeVersion(registry.dir, 2);
  const pool = new InferencePool({ workers, models: { log: () => {}, pollMs: 600_000, pinPollMs: 600_000 } });
  const generator = new TransactionGenerator({ seed: 5, users: 5000 });
  const sink = gapSink();
  const reloads: Promise<void>[] = [];
  let next = 2;
  try {
    const start = performance.now();
    const { stats } = await runTestJob(fraudJob, {
      sources: {
        transactions: generatorSource({
          name: 'transactions',
          count,
          partitions: 4,
          make: (i) => {
            if (kind === 'swaps' && i > 0 && i % Math.floor(count / (swaps + 1)) === 0 && next <= swaps + 1) {
              writeVersion(registry.dir, next++);
              reloads.push(pool.reload());
            }
            return generator.next();
          },
          key: (tx) => tx.userId,
          timestamp: (tx) => tx.timestamp,
        }),
      },
      sinks: { decisions: sink },
      settings: { model: registry.dir, ...(kind === 'shadow' ? { shadow: `${registry.dir}@next` } : {}) },
      inference: pool,
      maxInFlight: 4096,
    });
    await Promise.all(reloads);
    if (stats.out !== count) throw new Error(`the fraud job wrote ${stats.out} of ${count} decisions`);
    return { rate: count / ((performance.now() - start) / 1000), p99: stats.latency.p99, maxGapMs: sink.maxGapMs, versions: sink.versions.size };
  } finally {
    await pool.close();
    registry.remove();
  }
}

const best: Record<'steady' | 'swaps' | 'shadow', Figures | undefined> = { steady: undefined, swaps: undefined, shadow: undefined };
// A short warm-up run first: the first run in a process pays for JIT and module loading.
await run('steady', Math.min(events, 20_000));
// Alternate the kinds so a change in machine load hits all of them alike; keep the best run of each.
for (let r = 0; r < runs; r += 1) {
  for (const kind of ['steady', 'swaps', 'shadow'] as const) {
    const figures = await run(kind);
    if (best[kind] === undefined || figures.rate > best[kind]!.rate) best[kind] = figures;
  }
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`fraud job, ${fmt(events)} events, ${workers} workers, best of ${runs}; swaps: ${swaps} new versions validated and swapped in mid-stream`);
for (const kind of ['steady', 'swaps', 'shadow'] as const) {
  const f = best[kind]!;
  console.log(`${kind.padEnd(7)} ${fmt(f.rate).padStart(8)} events/s  p99 ${f.p99.toFixed(1).padStart(6)} ms  longest pause between sink writes ${f.maxGapMs.toFixed(1)} ms  versions in output ${f.versions}`);
}
const { steady, swaps: swapped, shadow } = best as Record<string, Figures>;
console.log(`swaps/steady: throughput ${(swapped!.rate / steady!.rate).toFixed(2)}x, p99 ${(swapped!.p99 / steady!.p99).toFixed(2)}x, longest pause ${(swapped!.maxGapMs / steady!.maxGapMs).toFixed(2)}x`);
console.log(`shadow/steady: throughput ${(shadow!.rate / steady!.rate).toFixed(2)}x, p99 ${(shadow!.p99 / steady!.p99).toFixed(2)}x; shadow cost ${((1 / shadow!.rate - 1 / steady!.rate) * 1e6).toFixed(2)} µs per event`);
