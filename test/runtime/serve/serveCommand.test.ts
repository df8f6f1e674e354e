import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serveCommand } from '../../../runtime/serve/serveCommand.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../telemetry/otlpReceiver.ts';
import { eventually } from '../../kit/eventually.ts';
import { featureRows, inferBody, MODEL_PATH } from './kit.ts';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

let receiver: OtlpReceiver;
const saved = { ...process.env };

before(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  delete process.env.OTEL_SDK_DISABLED;
  delete process.env.OTEL_SERVICE_NAME;
});

after(async () => {
  process.env = saved;
  await receiver?.close();
});

function capture() {
  const lines = { out: '', err: '' };
  return { lines, output: { out: (text: string) => (lines.out += text), err: (text: string) => (lines.err += text) } };
}

describe('sluice serve (serveCommand)', () => {
  it('prints one serving line, serves, exports server spans under the caller span, and stops with exit code 0', async (t) => {
    const stop = new AbortController();
    t.after(() => stop.abort());
    const { lines, output } = capture();
    const exit = serveCommand({ model: MODEL_PATH, port: 0, workers: 1, signal: stop.signal }, output);
    await eventually('the serving line', () => lines.out !== '', { detail: () => lines.err });
    const match = /^serving fraud-v1 vfraud-v1 at (http:\/\/127\.0\.0\.1:\d+) \(OIP v2\)\n$/.exec(lines.out);
    assert.ok(match !== null, lines.out);
    const response = await fetch(`${match[1]}/v2/models/fraud-v1/infer`, { method: 'POST', headers: { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` }, body: inferBody(featureRows(2), 2) });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    stop.abort();
    assert.equal(await exit, 0);
    assert.match(lines.err, /tracing: .*\/v1\/traces/);
    const spans = receiver.spans.filter((span) => span.traceId === TRACE_ID);
    assert.equal(spans.length, 1, 'the server span reached the OTLP receiver before exit');
    assert.equal(spans[0]!.parentSpanId, CALLER_SPAN);
    assert.equal(spans[0]!.kind, 2 /* SERVER */);
    await assert.rejects(fetch(`${match[1]}/v2/health/live`), 'the port is closed after the stop');
  });

  it('turns a missing model into one readable line and exit code 1', async () => {
    const { lines, output } = capture();
    assert.equal(await serveCommand({ model: 'models/nope.onnx', port: 0 }, output), 1);
    assert.equal(lines.out, '');
    assert.match(lines.err, /^(tracing: .*\n)?sluice serve: model file not found: models\/nope\.onnx — run `npm run train`.*\n$/);
  });

  it('refuses a port in use with a line that names --port', async (t) => {
    const stop = new AbortController();
    t.after(() => stop.abort());
    const first = capture();
    const running = serveCommand({ model: MODEL_PATH, port: 0, workers: 1, signal: stop.signal }, first.output);
    await eventually('the first service', () => first.lines.out !== '', { detail: () => first.lines.err });
    const port = Number(/:(\d+) /.exec(first.lines.out)![1]);
    const second = capture();
    assert.equal(await serveCommand({ model: MODEL_PATH, port, workers: 1 }, second.output), 1);
    assert.match(second.lines.err, new RegExp(`sluice serve: port ${port} is already in use — pick another with --port`));
    stop.abort();
    assert.equal(await running, 0);
  });
});
