import type { Source } from '../../../core/job.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { collectSink } from '../../../connectors/collectSink.ts';
import { InferencePool } from '../../../runtime/inferencePool.ts';
import { startTelemetry } from '../../../runtime/telemetry/telemetry.ts';
import { listSource, startJob, transactions, upstreamTrace, type Decision } from './kit.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlpReceiver.ts';

let pool: InferencePool;
let receiver: OtlpReceiver;

before(async () => {
  pool = new InferencePool({ workers: 2 });
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  process.env.OTEL_BSP_MAX_QUEUE_SIZE = '100000';
  delete process.env.OTEL_SDK_DISABLED;
});

after(async () => {
  await pool.close();
  await receiver.close();
});

/** Runs the scoring job with tracing; returns the spans it exported and what came out. */
async function tracedRun(options: { count: number; traceSample: number; trace?: (i: number) => ReturnType<typeof upstreamTrace> | undefined; bad?: (i: number) => boolean }) {
  receiver.spans.length = 0;
  receiver.requests.length = 0;
  const telemetry = await startTelemetry({ jobName: 'telemetry-test', traceSample: options.traceSample });
  const sink = collectSink<Decision>();
  const source = telemetry.instrumentSources({ tx: listSource(transactions(options.count, options)) as Source<unknown> }).tx!;
  const { running, deadLetters } = startJob(source, sink, pool, telemetry.instrumentation);
  const stats = await running.done;
  await telemetry.stop();
  return { stats, sink, deadLetters, spans: [...receiver.spans], telemetry };
}

function byId(spans: ReceivedSpan[]): Map<string, ReceivedSpan> {
  return new Map(spans.map((span) => [span.spanId, span]));
}

/** The span id a traceparent names. */
function spanIdOf(traceparent: string): string {
  return traceparent.split('-')[2]!;
}

describe('tracing a job with every record sampled', () => {
  const COUNT = 300;
  const bad = (i: number) => i % 50 === 7;
  const trace = (i: number) => (i % 10 === 3 ? upstreamTrace(i) : undefined);
  let run: Awaited<ReturnType<typeof tracedRun>>;

  before(async () => {
    run = await tracedRun({ count: COUNT, traceSample: 1, trace, bad });
  });

  it('runs the job to the end and exports under the job name', () => {
    assert.equal(run.stats.in, COUNT);
    assert.equal(run.sink.values.length, COUNT - 6);
    assert.equal(run.deadLetters.values.length, 6);
    assert.ok(run.spans.length > 0, 'spans reached the OTLP receiver');
    assert.ok(run.spans.every((span) => span.resource['service.name'] === 'telemetry-test'));
  });

  it('gives each record a consume span and every stage a span under it, in order', () => {
    const spans = byId(run.spans);
    for (const record of run.sink.records) {
      assert.ok(record.trace !== undefined, `record ${record.value.id} carries a traceparent out`);
      const consume = spans.get(spanIdOf(record.trace.traceparent));
      assert.ok(consume !== undefined, `the output traceparent of record ${record.value.id} names an exported span`);
      assert.equal(consume.name, 'consume test-input');
      assert.equal(consume.kind, 5 /* CONSUMER */);
      assert.equal(consume.attributes['sluice.offset'], Math.floor(record.value.id / 2));
      const children = run.spans.filter((span) => span.parentSpanId === consume.spanId);
      for (const child of children) assert.equal(child.traceId, consume.traceId);
      const names = children.filter((span) => !span.name.startsWith('inference')).sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs).map((span) => span.name);
      // Every named stage is a span ('validate' is deadLetterWhen's stage name).
      assert.deepEqual(names, ['features', 'validate', 'batch wait', 'decision', 'produce collect'], `stage spans of record ${record.value.id}`);
      const [features, wait, decision, produce] = ['features', 'batch wait', 'decision', 'produce collect'].map((name) => children.find((span) => span.name === name)!);
      assert.ok(consume.startMs <= features!.startMs && features!.endMs <= wait!.endMs && wait!.endMs <= decision!.startMs && decision!.endMs <= produce!.endMs);
    }
  });

  it('makes one inference span per batch, on a worker thread, linked to the batch waits of its records', () => {
    const spans = byId(run.spans);
    const inference = run.spans.filter((span) => span.name === 'inference fraud-v1.onnx');
    assert.ok(inference.length >= COUNT / 32, `${inference.length} batches`);
    let scored = 0;
    for (const batch of inference) {
      scored += Number(batch.attributes['sluice.batch.size']);
      assert.equal(batch.attributes['sluice.model.version'], 'fraud-v1');
      const thread = batch.attributes['thread.id'];
      assert.equal(typeof thread, 'number');
      assert.notEqual(thread, threadId, 'ran on a worker thread, not the main one');
      assert.ok(Number(thread) > 0);
      const parent = spans.get(batch.parentSpanId ?? '');
      assert.equal(parent?.name, 'consume test-input', 'a batch lives in the trace of its first sampled record');
      assert.equal(batch.traceId, parent.traceId);
      assert.equal(batch.links.length, batch.attributes['sluice.batch.sampled']);
      assert.equal(batch.links.length, batch.attributes['sluice.batch.size'], 'every record of the batch was sampled, so every one is linked');
      for (const link of batch.links) {
        const wait = spans.get(link.spanId);
        assert.ok(wait !== undefined, 'a link points at an exported span');
        assert.equal(wait.name, 'batch wait');
        assert.equal(wait.traceId, link.traceId);
        assert.ok(wait.links.some((back) => back.spanId === batch.spanId), 'the event links back to its batch');
      }
    }
    assert.equal(scored, COUNT - 6, 'the batches hold every scored record once');
  });

  it('continues an incoming traceparent and carries it on to the output', () => {
    const spans = byId(run.spans);
    const continued = run.sink.records.filter((record) => record.value.id % 10 === 3);
    assert.ok(continued.length >= 25);
    for (const record of continued) {
      const upstream = upstreamTrace(record.value.id).traceparent.split('-');
      const out = record.trace!.traceparent.split('-');
      assert.equal(out[1], upstream[1], 'same trace id out as in');
      const consume = spans.get(out[2]!)!;
      assert.equal(consume.traceId, upstream[1]);
      assert.equal(consume.parentSpanId, upstream[2], 'the consume span is a child of the upstream span');
    }
    const fresh = run.sink.records.find((record) => record.value.id === 4)!;
    assert.notEqual(fresh.trace!.traceparent.split('-')[1], upstreamTrace(4).traceparent.split('-')[1]);
    assert.equal(spans.get(spanIdOf(fresh.trace!.traceparent))!.parentSpanId, undefined, 'a record without a traceparent starts a trace');
  });

  it('shows dead-lettering as an error span in the record\'s trace', () => {
    const deadSpans = run.spans.filter((span) => span.name === 'dead-letter');
    assert.equal(deadSpans.length, 6);
    const spans = byId(run.spans);
    for (const span of deadSpans) {
      assert.equal(span.status.code, 2 /* ERROR */);
      assert.equal(span.attributes['sluice.dead_letter.reason'], 'negative amount');
      assert.equal(span.attributes['sluice.stage'], 'validate');
      const consume = spans.get(span.parentSpanId!)!;
      assert.equal(consume.name, 'consume test-input');
      assert.equal(bad(Number(consume.attributes['sluice.offset']) * 2 + Number(consume.attributes['messaging.destination.partition.id'])), true);
      assert.ok(!run.spans.some((other) => other.parentSpanId === consume.spanId && other.name.startsWith('produce')), 'a dead letter never reaches the sink');
    }
  });
});

describe('sampling', () => {
  it('exports no span at all with sampling off, and the job still runs', async () => {
    const run = await tracedRun({ count: 200, traceSample: 0, trace: (i) => (i % 2 === 0 ? upstreamTrace(i) : undefined) });
    assert.equal(run.stats.out, 200);
    assert.equal(run.telemetry.sampling, undefined);
    assert.equal(run.spans.length, 0);
    assert.equal(receiver.requests.length, 0);
    // Records keep what they came with: the upstream traceparent passes through untouched.
    assert.deepEqual(run.sink.records.find((r) => r.value.id === 2)!.trace, upstreamTrace(2));
    assert.equal(run.sink.records.find((r) => r.value.id === 1)!.trace, undefined);
  });

  it('exports nothing when OTEL_SDK_DISABLED=true, whatever --trace-sample says', async () => {
    process.env.OTEL_SDK_DISABLED = 'true';
    try {
      const run = await tracedRun({ count: 100, traceSample: 1 });
      assert.equal(run.stats.out, 100);
      assert.equal(run.spans.length, 0);
    } finally {
      delete process.env.OTEL_SDK_DISABLED;
    }
  });

  it('samples about the asked share of records, each whole or not at all', async () => {
    const run = await tracedRun({ count: 2000, traceSample: 0.1 });
    const consumes = run.spans.filter((span) => span.name === 'consume test-input');
    assert.ok(consumes.length > 120 && consumes.length < 290, `${consumes.length} of 2000 sampled at 10 %`);
    const traced = run.sink.records.filter((record) => record.trace !== undefined);
    assert.equal(traced.length, consumes.length, 'only sampled records get a traceparent');
    assert.equal(run.spans.filter((span) => span.name === 'decision').length, consumes.length);
    assert.equal(run.spans.filter((span) => span.name === 'features').length, consumes.length);
  });

  it('follows the upstream sampled flag: an unsampled parent is not traced, a sampled one is', async () => {
    const run = await tracedRun({ count: 200, traceSample: 0.000001, trace: (i) => upstreamTrace(i, i % 2 === 0) });
    const consumes = run.spans.filter((span) => span.name === 'consume test-input');
    assert.equal(consumes.length, 100);
    assert.ok(consumes.every((span) => Number(span.attributes['messaging.destination.partition.id']) === 0), 'only the even (sampled) records');
    assert.deepEqual(run.sink.records.find((r) => r.value.id === 1)!.trace, upstreamTrace(1, false));
  });
});
