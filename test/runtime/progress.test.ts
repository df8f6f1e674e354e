import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobStats } from '../../core/engine/engine.ts';
import { Instrumentation } from '../../core/instrumentation.ts';
import { formatLag, formatProgress, formatSummary, trackLag } from '../../runtime/progress.ts';

const latency = { count: 4000, p50: 1.5, p95: 4, p99: 9, max: 20 };
const stats: JobStats = {
  in: 4000, out: 3990, deadLettered: 10, dropped: 0, inFlight: 0, peakInFlight: 512, skipped: 0, checkpoints: 0, counted: 7,
  // The run took 10 s, but records flowed for 2 s of it (start-up, model load and the drain are not throughput).
  elapsedMs: 10_000, activeMs: 2000, latency,
};

describe('the run summary', () => {
  it('gives throughput over the active span (first record in → last record done), not the whole run', () => {
    const summary = formatSummary('scoring', stats, 'flagged');
    assert.match(summary, /throughput {2}2,000 events\/s over the active 2\.00 s/);
    assert.match(summary, /finished in 10\.0 s/);
  });

  it('labels latency from admission, and from the event timestamp when given', () => {
    const summary = formatSummary('scoring', stats, undefined, { latency: { count: 4000, p50: 12, p95: 30, p99: 45.5, max: 80 }, outside: 0 });
    assert.match(summary, /latency {5}p50 1\.50 ms, p95 4\.00 ms, p99 9\.00 ms, max 20\.00 ms \(admission → written\)/);
    assert.match(summary, /event time {2}p50 12\.00 ms, p95 30\.00 ms, p99 45\.50 ms, max 80\.00 ms \(event timestamp → written\)/);
  });

  it('says how many records had event times it could not use, or that it measured none', () => {
    const some = formatSummary('scoring', stats, undefined, { latency: { count: 900, p50: 1, p95: 1, p99: 1, max: 1 }, outside: 100 });
    assert.match(some, /10\.0 % of records left out, their event time over an hour old or ahead of this clock/);
    const none = formatSummary('scoring', stats, undefined, { latency: { count: 0, p50: 0, p95: 0, p99: 0, max: 0 }, outside: 4000 });
    assert.match(none, /event time {2}not measured: every record's event time is over an hour old or ahead of this clock/);
    assert.doesNotMatch(formatSummary('scoring', stats, undefined), /event time/);
  });
});

describe('the progress line', () => {
  it('shows the lag in total and the partitions furthest behind', () => {
    const lag = new Map([0, 1, 2, 3, 4, 5, 6, 7].map((p) => [`tx\u0000${p}`, { topic: 'tx', partition: p, lag: [4000, 400, 0, 5000, 0, 10, 20, 3000][p]! }]));
    assert.equal(formatLag(lag), 'lag 12,430 (p3 5,000, p0 4,000, p7 3,000, p1 400, +2 more, 2 at 0)');
    const line = formatProgress(stats, { in: 0, elapsedMs: 0 }, undefined, lag);
    assert.match(line, /\| lag 12,430 \(/);
  });

  it('names the topic when there are several', () => {
    const lag = new Map([['a\u00001', { topic: 'a', partition: 1, lag: 5 }], ['b\u00000', { topic: 'b', partition: 0, lag: 0 }]]);
    assert.equal(formatLag(lag), 'lag 5 (a[1] 5, 1 at 0)');
  });

  it('follows source.lag events, and forgets partitions at a rebalance', () => {
    const instrumentation = new Instrumentation();
    const lag = trackLag(instrumentation);
    instrumentation.emit('source.lag', { topic: 'tx', partition: 0, lag: 100 });
    instrumentation.emit('source.lag', { topic: 'tx', partition: 1, lag: 7 });
    instrumentation.emit('source.lag', { topic: 'tx', partition: 0, lag: 40 });
    assert.equal(formatLag(lag), 'lag 47 (p0 40, p1 7)');
    instrumentation.emit('source.rebalance', { assigned: 1, revoked: 1 });
    assert.equal(lag.size, 0);
    assert.doesNotMatch(formatProgress(stats, { in: 0, elapsedMs: 0 }, undefined, lag), /lag/);
  });
});
