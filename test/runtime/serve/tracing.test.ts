import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { InferencePool } from '../../../runtime/inferencePool.ts';
import { startModelService, type ModelService } from '../../../runtime/serve/modelService.ts';
import { featureRows, inferBody, MODEL_PATH } from './kit.ts';

const exporter = new InMemorySpanExporter();
// Always-on, like Sluice's tracer SDK: the service itself must honour an unsampled caller.
const provider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)] });
let pool: InferencePool;
let service: ModelService;

before(async () => {
  pool = new InferencePool({ workers: 1 });
  service = await startModelService({ model: MODEL_PATH, port: 0, pool, maxDelayMs: 0, tracer: provider.getTracer('test') });
});

after(async () => {
  await service?.close();
  await pool?.close();
  await provider.shutdown();
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('model service tracing', () => {
  it("continues the caller's W3C trace: the server span is a child of the caller's span", async () => {
    exporter.reset();
    const response = await fetch(`${service.url}/v2/models/fraud-v1/infer`, {
      method: 'POST',
      headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`, tracestate: 'vendor=x' },
      body: inferBody(featureRows(3), 3),
    });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 1);
    const span = spans[0]!;
    assert.equal(span.name, 'POST /v2/models/{model_name}/infer');
    assert.equal(span.kind, SpanKind.SERVER);
    assert.equal(span.spanContext().traceId, TRACE_ID);
    assert.equal(span.parentSpanContext?.spanId, CALLER_SPAN);
    assert.equal(span.parentSpanContext?.isRemote, true);
    assert.equal(span.spanContext().traceState?.get('vendor'), 'x');
    assert.equal(span.attributes['http.response.status_code'], 200);
    assert.equal(span.attributes['sluice.model.version'], 'fraud-v1');
    assert.equal(span.attributes['sluice.request.rows'], 3);
    assert.equal(span.attributes['sluice.batch.rows'], 3);
  });

  it('starts a new trace without a traceparent, and marks refused requests by status', async () => {
    exporter.reset();
    const response = await fetch(`${service.url}/v2/models/fraud-v1/infer`, { method: 'POST', body: '{' });
    assert.equal(response.status, 400);
    await response.arrayBuffer();
    const [span] = exporter.getFinishedSpans();
    assert.ok(span !== undefined);
    assert.equal(span.parentSpanContext, undefined);
    assert.notEqual(span.spanContext().traceId, TRACE_ID);
    assert.equal(span.attributes['http.response.status_code'], 400);
    // A client's mistake is not the server's error (OpenTelemetry's HTTP server convention).
    assert.equal(span.status.code, SpanStatusCode.UNSET);
  });
});

describe('model service tracing, sampling', () => {
  it('records no span when the caller did not sample its own (traceparent flags 00)', async () => {
    exporter.reset();
    const response = await fetch(`${service.url}/v2/models/fraud-v1/infer`, { method: 'POST', headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-00` }, body: inferBody(featureRows(1), 1) });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    assert.deepEqual(exporter.getFinishedSpans(), []);
  });
});
