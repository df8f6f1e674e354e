import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletionTracker } from '../../../core/completion.ts';
import type { JobStats } from '../../../core/engine/engine.ts';
import { Instrumentation } from '../../../core/instrumentation.ts';
import type { Envelope } from '../../../core/record.ts';
import { CheckpointWatch } from '../../../runtime/ui/checkpointWatch.ts';
import { JobCollector } from '../../../runtime/ui/jobCollector.ts';
import { mergeTimes, mergeViews } from '../../../runtime/ui/mergeViews.ts';
import { ThreadViews } from '../../../runtime/ui/threadViews.ts';
import { LogHistogram } from '../../../runtime/ui/windowMeter.ts';

// The dashboard with stream threads: each thread's collector makes a view with mergeable time
// windows, and the main thread merges them. The merged view must be the one a single collector
// would have made from all the threads' events.

const tracker = new CompletionTracker();
let nextOffset = 0;

function record(partition: number, receivedAt: number): Envelope<unknown> {
  const position = { topic: 'transactions', partition, offset: nextOffset++ };
  return { key: 'k', value: {}, timestamp: 0, position, headers: {}, trace: undefined, receivedAt, original: undefined, ticket: tracker.track(position) };
}

function stats(partial: Partial<JobStats> = {}): JobStats {
  return { in: 0, out: 0, deadLettered: 0, dropped: 0, inFlight: 0, peakInFlight: 0, skipped: 0, checkpoints: 0, counted: 0, elapsedMs: 0, activeMs: 0, latency: { count: 0, p50: 0, p95: 0, p99: 0, max: 0 }, ...partial };
}

function collector(mergeable: boolean, current: () => JobStats) {
  const bus = new Instrumentation();
  const c = new JobCollector({
    graph: { sources: [{ input: 'transactions', name: 'kafka:transactions' }], sinks: [{ output: 'decisions', name: 'kafka:decisions' }], deadLetters: 'kafka:dead' },
    budget: 100,
    workers: 1,
    redact: false,
    tracing: false,
    checkpoints: new CheckpointWatch(),
    mergeable,
  });
  c.subscribe(bus);
  c.attach({ stats: current, stages: () => ['decision', 'features'] });
  return { bus, c };
}

/** One thread's second: `times` ms per record in `features`, end-to-end latencies `latencies`, partition `partition`. */
function feed(bus: Instrumentation, times: number[], latencies: number[], partition: number): void {
  for (const ms of times) bus.emit('stage.done', { stage: 'features', record: record(partition, 0), startedAt: 0, endedAt: ms });
  // A fixed clock: each latency is then the same float in every collector that sees it.
  const now = 1000;
  bus.emit('sink.written', { sink: 'kafka:decisions', records: latencies.map((ms) => record(partition, now - ms)), startedAt: now - 1, endedAt: now });
  bus.emit('source.lag', { topic: 'transactions', partition, lag: partition * 10 });
  bus.emit('source.commit', { topic: 'transactions', partition, offset: 100 + partition });
  bus.emit('record.deadLettered', { stage: 'features', reason: `bad on ${partition}`, record: record(partition, now) });
}

const spread = (n: number, scale: number) => Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 * scale + 0.01);

describe('merging the stream threads\' dashboard views', () => {
  it('gives the percentiles a single collector of all the threads\' records would give', () => {
    const threadStats = [stats({ in: 300, out: 290 }), stats({ in: 500, out: 480 })];
    const one = collector(true, () => threadStats[0]!);
    const two = collector(true, () => threadStats[1]!);
    const all = collector(false, () => stats({ in: 800, out: 770 }));
    // Thread one is fast, thread two slow: a merge by any per-thread percentile would be off.
    const fast = { times: spread(300, 1), latencies: spread(200, 5) };
    const slow = { times: spread(500, 40), latencies: spread(300, 90) };
    feed(one.bus, fast.times, fast.latencies, 0);
    feed(two.bus, slow.times, slow.latencies, 1);
    feed(all.bus, fast.times, fast.latencies, 0);
    feed(all.bus, slow.times, slow.latencies, 1);
    const whole = stats({ in: 800, out: 770, latency: { count: 770, p50: 3, p95: 8, p99: 9, max: 10 } });
    const merged = mergeViews([one.c.tick(), two.c.tick()], { stats: whole, rates: { in: 800, out: 770, deadLettered: 2 }, keepDeadLetters: 50 });
    const expected = all.c.tick();

    const features = merged.stages.find((s) => s.name === 'features')!;
    const single = expected.stages.find((s) => s.name === 'features')!;
    assert.deepEqual(features.time, single.time);
    assert.equal(features.records, 800);
    assert.deepEqual(merged.latency.window, expected.latency.window);
    assert.equal(merged.latency.window.count, 500);
    // The served view carries no buckets: only what the page reads.
    assert.doesNotMatch(JSON.stringify(merged), /buckets/);
    assert.deepEqual(merged.latency.total, whole.latency);
    assert.deepEqual(merged.totals, { in: 800, out: 770, deadLettered: 0, dropped: 0, skipped: 0, counted: 0 });
    assert.deepEqual(merged.partitions.map((p) => [p.partition, p.lag, p.committed]), [[0, 0, 100], [1, 10, 101]]);
    assert.equal(merged.deadLetters.total, 2);
    assert.deepEqual(merged.deadLetters.byStage, { features: 2 });
    assert.deepEqual(new Set(merged.deadLetters.recent.map((d) => d.reason)), new Set(['bad on 0', 'bad on 1']));
    assert.equal(merged.backpressure.budget, 200);
  });

  it('merges a partition two threads list (a rebalance moved it) as the one that committed further', () => {
    const a = collector(true, () => stats());
    const b = collector(true, () => stats());
    a.bus.emit('source.commit', { topic: 't', partition: 3, offset: 50 });
    a.bus.emit('source.lag', { topic: 't', partition: 3, lag: 900 });
    b.bus.emit('source.commit', { topic: 't', partition: 3, offset: 80 });
    b.bus.emit('source.lag', { topic: 't', partition: 3, lag: 4 });
    const merged = mergeViews([a.c.tick(), b.c.tick()], { stats: stats(), rates: { in: 0, out: 0, deadLettered: 0 }, keepDeadLetters: 50 });
    assert.deepEqual(merged.partitions.map((p) => [p.partition, p.committed, p.lag]), [[3, 80, 4]]);
  });

  it('keeps an ended thread\'s counts but not its rates, and takes rates from the merged counters', () => {
    let total = stats({ in: 0 });
    const views = new ThreadViews({ stats: () => total });
    const thread = collector(true, () => stats({ in: 100 }));
    feed(thread.bus, spread(100, 2), spread(10, 3), 0);
    views.offer(0, thread.c.tick());
    total = stats({ in: 100 });
    const running = views.tick();
    assert.ok(running.rates.in > 0);
    assert.ok((running.stages.find((s) => s.name === 'features')!.rate ?? 0) > 0);
    views.offer(0, undefined);
    const ended = views.tick();
    assert.equal(ended.rates.in, 0, 'no new records since the last tick');
    assert.equal(ended.stages.find((s) => s.name === 'features')!.records, 100);
    assert.equal(ended.stages.find((s) => s.name === 'features')!.rate, 0);
    assert.equal(ended.latency.window.count, 0);
    assert.deepEqual(views.stages(), ['features', 'decision']);
    assert.equal(views.history().length, 2);
  });

  it('keeps counting what a failed thread counted after a restart replaces it, with only the new thread\'s budget', () => {
    const views = new ThreadViews({ stats: () => stats({ in: 130 }) });
    const failed = collector(true, () => stats({ in: 100 }));
    feed(failed.bus, spread(100, 2), spread(10, 3), 0);
    views.offer(0, failed.c.tick());
    views.offer(0, undefined);
    const restarted = collector(true, () => stats({ in: 30 }));
    feed(restarted.bus, spread(30, 2), spread(5, 3), 0);
    views.offer(0, restarted.c.tick());
    const merged = views.tick();
    assert.equal(merged.stages.find((s) => s.name === 'features')!.records, 130);
    assert.equal(merged.deadLetters.total, 2);
    assert.equal(merged.backpressure.budget, 100, 'one thread\'s budget: the failed one\'s is gone');
    assert.equal(merged.latency.window.count, 5, 'the last second is the new thread\'s');
    assert.deepEqual(merged.partitions.map((p) => p.partition), [0]);

    // It fails again and is replaced again: every replaced thread's counts stay (folded into one).
    views.offer(0, undefined);
    const again = collector(true, () => stats({ in: 20 }));
    feed(again.bus, spread(20, 2), spread(4, 3), 0);
    views.offer(0, again.c.tick());
    const later = views.tick();
    assert.equal(later.stages.find((s) => s.name === 'features')!.records, 150);
    assert.equal(later.deadLetters.total, 3);
    assert.equal(later.backpressure.budget, 100);
    assert.equal(later.latency.window.count, 4);
    assert.deepEqual(later.partitions.map((p) => p.partition), [0]);
  });

  it('without buckets, takes the largest percentile: an upper bound, never an understatement', () => {
    const a = new LogHistogram();
    const b = new LogHistogram();
    for (let i = 1; i <= 100; i += 1) a.record(i / 10);
    for (let i = 1; i <= 100; i += 1) b.record(i);
    const merged = mergeTimes([a.percentiles(), b.percentiles()]);
    assert.equal(merged.count, 200);
    assert.equal(merged.p99, b.percentiles().p99);
    const exact = mergeTimes([a.percentiles(true), b.percentiles(true)]);
    assert.ok(exact.p50! < merged.p50!, `exact p50 ${exact.p50} below the bound ${merged.p50}`);
  });
});
