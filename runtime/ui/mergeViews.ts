import type { JobStats } from '../../core/engine/engine.ts';
import type { CheckpointView, DeadLetterEntry, InferenceStageView, MetricsView, ModelView, PartitionView, Percentiles, SourceView, StageView } from './api.ts';
import { KEEP_MS as SLOW_TRACE_KEEP_MS } from './slowTraces.ts';
import { LogHistogram, NO_PERCENTILES } from './windowMeter.ts';

/** What the main thread knows of the whole run, beside the threads' views. */
export interface RunTotals {
  /** The supervisor's merged counters: failed threads' work and the exact latency histogram included. */
  readonly stats: JobStats;
  /** Per second, from those counters over the last tick. */
  readonly rates: MetricsView['rates'];
  /** Dead letters kept for the list. */
  readonly keepDeadLetters: number;
  /**
   * The last views of threads that failed and were replaced by a restart (stilled): what they
   * counted goes on counting, their budgets and pools are the new threads'.
   */
  readonly retired?: readonly MetricsView[];
}

/**
 * One view of the job from its stream threads' views of the same second: counts and rates add
 * up, time windows merge exactly from their buckets (each thread's collector keeps them), the
 * threads' partitions, dead letters and slow traces are listed together, and the totals and
 * whole-run latency are the supervisor's (they include threads that failed and were restarted).
 * The counts of a thread that a restart replaced stay in (`retired`).
 *
 * @example
 * const view = mergeViews([threadOne, threadTwo], { stats: supervisor.stats(), rates, keepDeadLetters: 50 });
 * view.latency.window.p99 // the p99 of both threads' records of the last second
 */
export function mergeViews(views: readonly MetricsView[], totals: RunTotals): MetricsView {
  const { stats } = totals;
  // Counts since the start include replaced threads; what is true now (budgets, pools, the last
  // second's times) is the current threads'. Current first: a partition's newer entry wins ties.
  const all = totals.retired === undefined ? views : [...views, ...totals.retired];
  const budget = sum(views, (v) => v.backpressure.budget);
  const inFlight = sum(views, (v) => v.backpressure.inFlight);
  return {
    at: Date.now(),
    elapsedMs: stats.elapsedMs,
    totals: { in: stats.in, out: stats.out, deadLettered: stats.deadLettered, dropped: stats.dropped, skipped: stats.skipped, counted: stats.counted },
    rates: totals.rates,
    latency: { window: mergeTimes(views.map((v) => v.latency.window)), total: stats.latency.count === 0 ? NO_PERCENTILES : { ...stats.latency } },
    sources: byName(all, (v) => v.sources, (v) => v.name, mergeSources),
    stages: byName(all, (v) => v.stages, (s) => s.name, mergeStages),
    sinks: byName(all, (v) => v.sinks, (s) => s.name, mergeStages),
    backpressure: {
      inFlight,
      budget,
      used: budget > 0 ? inFlight / budget : 0,
      peakInFlight: sum(views, (v) => v.backpressure.peakInFlight),
      paused: views.some((v) => v.backpressure.paused),
      poolQueue: sum(views, (v) => v.backpressure.poolQueue),
      // Each thread has a pool of its own, of the same size: the mean is the share of all of them.
      poolBusy: views.length === 0 ? 0 : sum(views, (v) => v.backpressure.poolBusy) / views.length,
    },
    partitions: mergePartitions(all.flatMap((v) => v.partitions)),
    checkpoints: mergeCheckpoints(all.map((v) => v.checkpoints)),
    model: mergeModels(all.map((v) => v.model)),
    deadLetters: {
      total: sum(all, (v) => v.deadLetters.total),
      rate: sum(views, (v) => v.deadLetters.rate),
      byStage: addRecords(all.map((v) => v.deadLetters.byStage)),
      recent: newestFirst(all.flatMap((v) => v.deadLetters.recent)).slice(0, totals.keepDeadLetters),
    },
    slowTraces: all
      .flatMap((v) => v.slowTraces)
      // A retired thread's list is no longer trimmed to the last minute by its thread.
      .filter((trace) => Date.now() - trace.at <= SLOW_TRACE_KEEP_MS)
      .sort((a, b) => b.latencyMs - a.latencyMs)
      .slice(0, 10),
  };
}

/**
 * A view of a thread that ended: what it counted stays in the totals, but nothing of it is
 * moving any more (no rates, no time windows, nothing in flight).
 */
export function stilled(view: MetricsView): MetricsView {
  const still = (s: StageView): StageView => ({ ...s, rate: s.rate === undefined ? undefined : 0, time: NO_PERCENTILES });
  return {
    ...view,
    rates: { in: 0, out: 0, deadLettered: 0 },
    latency: { window: NO_PERCENTILES, total: view.latency.total },
    sources: view.sources.map((s) => ({ ...s, rate: s.rate === undefined ? undefined : 0, paused: false, pausedShare: 0 })),
    partitions: view.partitions.map((p) => ({ ...p, paused: false, pausedShare: 0 })),
    stages: view.stages.map(still),
    sinks: view.sinks.map(still),
    backpressure: { ...view.backpressure, inFlight: 0, used: 0, paused: false, poolQueue: 0, poolBusy: 0 },
    model: { ...view.model, stages: view.model.stages.map((s) => ({ ...s, time: NO_PERCENTILES })), enrich: view.model.enrich.map((e) => ({ ...e, time: NO_PERCENTILES })) },
    deadLetters: { ...view.deadLetters, rate: 0 },
  };
}

/** The percentiles of all the windows' observations together (their buckets added up). */
export function mergeTimes(windows: readonly Percentiles[]): Percentiles {
  const all = new LogHistogram();
  let exact = true;
  for (const window of windows) exact = all.add(window) && exact;
  if (exact) return all.percentiles();
  // A window without buckets (not a stream thread's): the largest of each percentile is an
  // upper bound of the merged one, never an understatement.
  const top = (pick: (p: Percentiles) => number | undefined): number | undefined => windows.reduce<number | undefined>((m, p) => (pick(p) === undefined ? m : Math.max(m ?? 0, pick(p)!)), undefined);
  return { count: sum(windows, (p) => p.count), p50: top((p) => p.p50), p95: top((p) => p.p95), p99: top((p) => p.p99), max: top((p) => p.max) };
}

function mergeSources(parts: readonly SourceView[]): SourceView {
  return {
    name: parts[0]!.name,
    records: optionalSum(parts, (s) => s.records),
    rate: optionalSum(parts, (s) => s.rate),
    paused: parts.some((s) => s.paused),
    pausedShare: Math.max(...parts.map((s) => s.pausedShare)),
    pauses: sum(parts, (s) => s.pauses),
  };
}

function mergeStages(parts: readonly StageView[]): StageView {
  return {
    name: parts[0]!.name,
    records: optionalSum(parts, (s) => s.records),
    rate: optionalSum(parts, (s) => s.rate),
    time: mergeTimes(parts.map((s) => s.time)),
    per: parts[0]!.per,
    deadLetters: sum(parts, (s) => s.deadLetters),
  };
}

/**
 * After a rebalance a partition can be in two threads' lists (the old owner's panel keeps what
 * it last saw): the entry that committed further is the current owner's.
 */
function mergePartitions(all: readonly PartitionView[]): PartitionView[] {
  const byKey = new Map<string, PartitionView>();
  for (const p of all) {
    const key = `${p.topic}\u0000${p.partition}`;
    const seen = byKey.get(key);
    if (seen === undefined || (p.committed ?? -1) > (seen.committed ?? -1)) byKey.set(key, p);
  }
  return [...byKey.values()].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}

function mergeCheckpoints(all: readonly CheckpointView[]): CheckpointView {
  return {
    enabled: all.some((c) => c.enabled),
    taken: sum(all, (c) => c.taken),
    failures: sum(all, (c) => c.failures),
    last: newest(all.map((c) => c.last)),
    lastFailure: newest(all.map((c) => c.lastFailure)),
  };
}

function mergeModels(all: readonly ModelView[]): ModelView {
  const stages = byName(all, (m) => m.stages, (s) => s.stage, (parts): InferenceStageView => ({
    stage: parts[0]!.stage,
    model: parts[0]!.model,
    version: parts.find((s) => s.version !== undefined)?.version,
    batches: sum(parts, (s) => s.batches),
    records: sum(parts, (s) => s.records),
    errors: sum(parts, (s) => s.errors),
    fallbacks: sum(parts, (s) => s.fallbacks),
    time: mergeTimes(parts.map((s) => s.time)),
    batchSizes: parts[0]!.batchSizes.map(({ le }, i) => ({ le, count: sum(parts, (s) => s.batchSizes[i]?.count ?? 0) })),
  }));
  const enrich = byName(all, (m) => m.enrich, (e) => e.stage, (parts) => ({
    stage: parts[0]!.stage,
    calls: sum(parts, (e) => e.calls),
    fallbacks: sum(parts, (e) => e.fallbacks),
    errors: sum(parts, (e) => e.errors),
    time: mergeTimes(parts.map((e) => e.time)),
  }));
  // A breaker open in any thread is what the operator needs to see.
  const rank = { closed: 0, 'half-open': 1, open: 2 } as const;
  const breakers: Record<string, 'closed' | 'open' | 'half-open'> = {};
  for (const m of all) for (const [stage, state] of Object.entries(m.breakers)) if (breakers[stage] === undefined || rank[state] > rank[breakers[stage]!]) breakers[stage] = state;
  // Every thread swaps (or refuses) the same version: one line per change, the first to see it.
  const changes = new Map<string, ModelView['changes'][number]>();
  for (const c of all.flatMap((m) => m.changes).sort((a, b) => a.at - b.at)) {
    const key = JSON.stringify([c.stage, c.model, c.version, c.from, c.refused]);
    if (!changes.has(key)) changes.set(key, c);
  }
  return { stages, breakers, enrich, changes: [...changes.values()].slice(-20), drift: newest(all.map((m) => m.drift)), accuracy: newest(all.map((m) => m.accuracy)) };
}

/** Entries of the same name across the views, merged, in the order the first view to have each lists them. */
function byName<V, T, R>(views: readonly V[], list: (view: V) => readonly T[], name: (item: T) => string, merge: (parts: readonly T[]) => R): R[] {
  const groups = new Map<string, T[]>();
  for (const view of views) {
    for (const item of list(view)) {
      const key = name(item);
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [item]);
      else group.push(item);
    }
  }
  return [...groups.values()].map(merge);
}

/** The latest of some timestamped things, any of them missing. */
function newest<T extends { at: number }>(items: ReadonlyArray<T | undefined>): T | undefined {
  return items.reduce<T | undefined>((m, x) => (x !== undefined && (m === undefined || x.at > m.at) ? x : m), undefined);
}

function newestFirst(entries: readonly DeadLetterEntry[]): DeadLetterEntry[] {
  return [...entries].sort((a, b) => b.at - a.at);
}

function addRecords(all: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const total: Record<string, number> = {};
  for (const counts of all) for (const [key, n] of Object.entries(counts)) total[key] = (total[key] ?? 0) + n;
  return total;
}

function sum<T>(items: readonly T[], pick: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += pick(item);
  return total;
}

/** Undefined when no part knows (an operator that reports no records of its own). */
function optionalSum<T>(items: readonly T[], pick: (item: T) => number | undefined): number | undefined {
  return items.some((item) => pick(item) !== undefined) ? sum(items, (item) => pick(item) ?? 0) : undefined;
}
