import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CheckpointStore } from '../../../core/checkpoint/checkpoint.ts';
import { FileCheckpointStore } from '../../../core/checkpoint/fileCheckpointStore.ts';
import { CompletionTracker } from '../../../core/completion.ts';
import type { JobStats } from '../../../core/engine/engine.ts';
import { Instrumentation } from '../../../core/instrumentation.ts';
import type { Envelope } from '../../../core/record.ts';
import { CheckpointWatch } from '../../../runtime/ui/checkpointWatch.ts';
import { JobCollector } from '../../../runtime/ui/jobCollector.ts';

const tracker = new CompletionTracker();
let nextOffset = 0;

function record<V>(value: V, extra: Partial<Envelope<V>> = {}): Envelope<V> {
  const position = { topic: 'transactions', partition: 2, offset: nextOffset++ };
  return { key: 'user-7', value, timestamp: 0, position, headers: {}, trace: undefined, receivedAt: performance.now(), original: undefined, ticket: tracker.track(position), ...extra };
}

function stats(partial: Partial<JobStats> = {}): JobStats {
  return { in: 0, out: 0, deadLettered: 0, dropped: 0, inFlight: 0, peakInFlight: 0, skipped: 0, checkpoints: 0, counted: 0, elapsedMs: 0, activeMs: 0, latency: { count: 0, p50: 0, p95: 0, p99: 0, max: 0 }, ...partial };
}

function collector(options: { redact?: boolean; tracing?: boolean; sources?: string[] } = {}) {
  const bus = new Instrumentation();
  const checkpoints = new CheckpointWatch();
  const c = new JobCollector({
    graph: { sources: (options.sources ?? ['kafka:transactions']).map((name) => ({ input: 'transactions', name })), sinks: [{ output: 'decisions', name: 'kafka:decisions' }], deadLetters: 'kafka:dead' },
    budget: 100,
    workers: 2,
    redact: options.redact ?? false,
    tracing: options.tracing ?? false,
    checkpoints,
  });
  c.subscribe(bus);
  let current = stats();
  c.attach({ stats: () => current, stages: () => ['decision', 'infer', 'features', 'keyBy'] });
  return { bus, c, checkpoints, setStats: (s: Partial<JobStats>) => (current = stats(s)) };
}

describe('the dashboard collector', () => {
  it('lists stages source first, with records, rate and time of the last window only', async () => {
    const { bus, c } = collector();
    for (let i = 0; i < 10; i += 1) bus.emit('stage.done', { stage: 'features', record: record({}), startedAt: 0, endedAt: 2 });
    bus.emit('batch.formed', { stage: 'infer', records: [record({}), record({})], waitedMs: 1 });
    bus.emit('inference.done', { stage: 'infer', model: 'models/fraud', records: [record({}), record({})], startedAt: 0, durationMs: 4, scores: new Float32Array([0.1, Number.NaN]), modelVersion: 'fraud@3', error: undefined, worker: undefined });
    const first = c.tick();
    assert.deepEqual(first.stages.map((s) => s.name), ['keyBy', 'features', 'infer', 'decision']);
    const features = first.stages.find((s) => s.name === 'features')!;
    assert.equal(features.records, 10);
    assert.ok(features.rate! > 0);
    assert.ok(Math.abs(features.time.p50! - 2) < 0.05, `p50 ${features.time.p50}`);
    assert.equal(features.per, 'record');
    const infer = first.stages.find((s) => s.name === 'infer')!;
    assert.equal(infer.records, 2);
    assert.equal(infer.per, 'batch');
    assert.equal(first.stages.find((s) => s.name === 'keyBy')!.records, undefined, 'keyBy reports no events: no number is made up for it');
    assert.deepEqual(first.model.stages.map((s) => [s.version, s.batches, s.fallbacks]), [['fraud@3', 1, 1]]);
    assert.deepEqual(first.model.stages[0]!.batchSizes, [{ le: 1, count: 0 }, { le: 2, count: 1 }]);

    const second = c.tick();
    const quiet = second.stages.find((s) => s.name === 'features')!;
    assert.equal(quiet.records, 10, 'totals go on');
    assert.equal(quiet.rate, 0, 'the rate is of the last window');
    assert.equal(quiet.time.count, 0);
  });

  it('measures end-to-end latency per window and keeps a point of history per tick', () => {
    const { bus, c, setStats } = collector();
    // One instant for every time stamp: the latency is exactly 40 ms, however long this code takes to run.
    const now = performance.now();
    const written = [record({}, { receivedAt: now - 40 }), record({}, { receivedAt: now - 40 })];
    bus.emit('sink.written', { sink: 'kafka:decisions', records: written, startedAt: now - 1, endedAt: now });
    setStats({ in: 500, out: 400 });
    const view = c.tick();
    assert.ok(Math.abs(view.latency.window.p50! - 40) < 0.5, `p50 ${view.latency.window.p50}`);
    assert.equal(view.sinks[0]!.records, 2);
    assert.equal(view.totals.in, 500);
    assert.ok(view.rates.in > 0);
    c.tick();
    assert.equal(c.history().length, 2);
    assert.equal(c.history()[1]!.p50, undefined, 'nothing written in the second window');
  });

  it('shows a paused source as paused partitions, and a pause shorter than a tick as a share of it', () => {
    const { bus, c } = collector();
    bus.emit('source.lag', { topic: 'transactions', partition: 0, lag: 120 });
    bus.emit('source.lag', { topic: 'transactions', partition: 1, lag: 5 });
    bus.emit('source.commit', { topic: 'transactions', partition: 1, offset: 42 });
    bus.emit('source.backpressure', { source: 'kafka:transactions', paused: true });
    const paused = c.tick();
    assert.equal(paused.backpressure.paused, true);
    assert.deepEqual(paused.partitions.map((p) => [p.partition, p.lag, p.committed, p.paused]), [[0, 120, undefined, true], [1, 5, 42, true]]);
    assert.equal(paused.sources[0]!.paused, true);
    assert.equal(paused.sources[0]!.pauses, 1);

    bus.emit('source.backpressure', { source: 'kafka:transactions', paused: false });
    const brief = c.tick();
    assert.equal(brief.sources[0]!.paused, false);
    assert.ok(brief.sources[0]!.pausedShare > 0, 'paused for part of the window');
    assert.equal(brief.backpressure.paused, true, 'a pause within the last second still shows');
    assert.equal(brief.partitions[0]!.paused, false);
    assert.ok(brief.partitions[0]!.pausedShare > 0, 'the partitions too show the pause as a share of the window');
    const after = c.tick();
    assert.equal(after.backpressure.paused, false);
    assert.equal(after.partitions[0]!.pausedShare, 0);
  });

  it('keeps the last dead letters with what the dead-letter sink holds, and nothing of the record with redact', () => {
    const secret = 'card-4111-1111-1111-1111';
    const bad = record({ raw: secret }, { key: `key-${secret}`, original: new TextEncoder().encode(`{"card":"${secret}"`) });
    for (const redact of [false, true]) {
      const { bus, c } = collector({ redact });
      bus.emit('record.deadLettered', { stage: 'decode', reason: 'malformed JSON: unexpected end of input', record: bad });
      const view = c.tick();
      const [entry] = view.deadLetters.recent;
      assert.equal(entry!.reason, 'malformed JSON: unexpected end of input');
      assert.equal(entry!.stage, 'decode');
      assert.deepEqual([entry!.topic, entry!.partition, entry!.offset], ['transactions', 2, bad.position.offset]);
      assert.equal(view.deadLetters.total, 1);
      assert.deepEqual(view.deadLetters.byStage, { decode: 1 });
      const text = JSON.stringify(view);
      if (redact) assert.ok(!text.includes(secret), 'redacted: no part of the record anywhere in the view');
      else {
        assert.equal(entry!.key, `key-${secret}`);
        assert.equal(entry!.original, `{"card":"${secret}"`);
        assert.ok(entry!.value!.includes(secret));
      }
    }
  });

  it('keeps only the newest dead letters', () => {
    const { bus, c } = collector();
    for (let i = 0; i < 80; i += 1) bus.emit('record.deadLettered', { stage: 'decision', reason: `bad ${i}`, record: undefined });
    const view = c.tick();
    assert.equal(view.deadLetters.recent.length, 50);
    assert.equal(view.deadLetters.recent[0]!.reason, 'bad 79');
    assert.equal(view.stages.find((s) => s.name === 'decision')!.deadLetters, 80);
  });

  it('lists the slowest traced records with their trace ids, and only traced ones', () => {
    const { bus, c } = collector({ tracing: true });
    const now = performance.now();
    const traceId = 'ab'.repeat(16);
    const records = [
      record({}, { receivedAt: now - 900, trace: { traceparent: `00-${traceId}-${'cd'.repeat(8)}-01` } }),
      record({}, { receivedAt: now - 5000 }),
      record({}, { receivedAt: now - 10, trace: { traceparent: `00-${'ef'.repeat(16)}-${'cd'.repeat(8)}-01` } }),
    ];
    bus.emit('sink.written', { sink: 'kafka:decisions', records, startedAt: now, endedAt: now });
    const slow = c.tick().slowTraces;
    assert.deepEqual(slow.map((s) => s.traceId), [traceId, 'ef'.repeat(16)]);
    assert.ok(slow[0]!.latencyMs >= 899);
  });

  it('shows the model lifecycle: swaps and refusals, enrich calls and breaker, the last drift and accuracy windows', () => {
    const { bus, c } = collector();
    bus.emit('model.swapped', { stage: 'infer', model: 'fraud', version: 'fraud@2', from: 'fraud@1' });
    bus.emit('model.refused', { stage: 'infer', model: 'fraud', version: 'fraud@3', reasons: ['AUC 0.61 below 0.9'] });
    bus.emit('enrich.done', { stage: 'score-remote', call: { traceparent: undefined }, records: [record({}), record({})], durationMs: 12, attempts: 2, fallbacks: 2, error: 'timeout' });
    bus.emit('enrich.breaker', { stage: 'score-remote', state: 'open' });
    const column = (name: string, psi: number) => ({ name, psi, ks: 0.1, count: 100, missing: 0 });
    bus.emit('drift.window', { stage: 'drift', model: 'fraud@2', start: 0, end: 10, records: 100, features: [column('amount', 0.31), column('hour', Number.NaN)], score: column('score', 0.05), drifted: ['amount'] });
    bus.emit('accuracy.window', { stage: 'online-accuracy', model: 'fraud@2', start: 0, end: 10, result: { count: 40, positives: 4, truePositives: 3, falsePositives: 1, falseNegatives: 1, trueNegatives: 35, precision: 0.75, recall: 0.75, auc: 0.9 } as never });
    const { model, stages } = c.tick();
    assert.equal(model.stages[0]!.version, 'fraud@2');
    assert.deepEqual(model.changes.map((change) => [change.version, change.from, change.refused]), [['fraud@2', 'fraud@1', undefined], ['fraud@3', undefined, ['AUC 0.61 below 0.9']]]);
    assert.deepEqual(model.enrich.map((e) => [e.stage, e.calls, e.fallbacks, e.errors]), [['score-remote', 1, 2, 1]]);
    assert.deepEqual(model.breakers, { 'score-remote': 'open' });
    assert.deepEqual(model.drift!.columns.map((col) => [col.name, col.drifted]), [['amount', true], ['hour', false], ['score', false]]);
    assert.ok(Number.isNaN(model.drift!.columns[1]!.psi), 'a column without data stays NaN (null in JSON), not 0');
    assert.deepEqual([model.accuracy!.count, model.accuracy!.precision, model.accuracy!.auc], [40, 0.75, 0.9]);
    assert.equal(stages.length, 4);
  });

  it('names a pinned registry version by its path when the worker reports only the file name', () => {
    const { bus, c } = collector();
    bus.emit('inference.done', { stage: 'infer', model: '/repo/models/fraud/1/model.onnx', records: [record({})], startedAt: 0, durationMs: 1, scores: new Float32Array([0.2]), modelVersion: 'model', error: undefined, worker: undefined });
    assert.deepEqual(c.tick().model.stages.map((s) => [s.model, s.version]), [['fraud@1', 'fraud@1']]);
  });

  it('times checkpoints on a real file store and counts failed ones without hiding the error', async (t) => {
    const directory = await mkdtemp(join(tmpdir(), 'sluice-ui-ckpt-'));
    t.after(() => rm(directory, { recursive: true, force: true }));
    const watch = new CheckpointWatch();
    const wrapped = watch.wrap({ store: new FileCheckpointStore({ directory }), intervalMs: 1000 })!;
    const store = wrapped.store as CheckpointStore;
    await store.save({ positions: [{ topic: 't', partition: 0, offset: 9 }], state: { 't/0': [['count', 'k', 3, null]] }, operators: {} });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const view = watch.view();
    assert.equal(view.enabled, true);
    assert.equal(view.taken, 1);
    assert.ok(view.last!.bytes! > 0, `bytes ${view.last!.bytes}`);
    assert.equal(view.last!.entries, 1);
    assert.equal(view.last!.partitions, 1);

    const failing = new CheckpointWatch();
    const broken = failing.wrap({ store: { save: () => Promise.reject(new Error('disk full')), latest: async () => undefined }, intervalMs: 1000 })!.store as CheckpointStore;
    await assert.rejects(broken.save({ positions: [], state: {}, operators: {} }), /disk full/);
    assert.equal(failing.view().failures, 1);
    assert.match(failing.view().lastFailure!.error, /disk full/);
  });
});
