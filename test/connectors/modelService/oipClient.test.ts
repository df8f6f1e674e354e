import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { InvalidOptionError, SluiceError } from '../../../core/errors.ts';
import { ModelServiceProtocolError, ModelServiceRequestError, ModelServiceTimeoutError, ModelServiceUnavailableError, oipClient } from '../../../connectors/modelService/index.ts';
import { InferencePool } from '../../../runtime/inferencePool.ts';
import { startModelService, type ModelService } from '../../../runtime/serve/modelService.ts';
import { COLUMNS, directScores, featureRows, MODEL_PATH } from '../../runtime/serve/kit.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A stand-in server that answers with `respond`, and remembers what it was sent. */
async function stubServer(respond: (seen: Seen) => { status: number; body: string } | 'hang'): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(entry);
      const answer = respond(entry);
      if (answer !== 'hang') response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What Triton answers for an ONNX model with max_batch_size > 0 (version "1", tensors input__0/output__0). */
const TRITON_METADATA = JSON.stringify({ name: 'fraud', versions: ['1'], platform: 'onnxruntime_onnx', inputs: [{ name: 'input__0', datatype: 'FP32', shape: [-1, 10] }], outputs: [{ name: 'output__0', datatype: 'FP32', shape: [-1, 1] }] });

function tritonLike(seen: Seen): { status: number; body: string } {
  if (seen.method === 'GET' && seen.url === '/v2/models/fraud/versions/1') return { status: 200, body: TRITON_METADATA };
  if (seen.method === 'POST' && seen.url === '/v2/models/fraud/versions/1/infer') {
    const request = JSON.parse(seen.body) as { id: string; inputs: { shape: [number, number]; data: number[] }[] };
    const rows = request.inputs[0]!.shape[0];
    // Nested [rows, 1] data, as the natural shape: the client must read it too.
    const data = Array.from({ length: rows }, (_, row) => [request.inputs[0]!.data[row * COLUMNS]!]);
    return { status: 200, body: JSON.stringify({ model_name: 'fraud', model_version: '1', id: request.id, outputs: [{ name: 'output__0', datatype: 'FP32', shape: [rows, 1], data }] }) };
  }
  return { status: 400, body: JSON.stringify({ error: `unexpected ${seen.method} ${seen.url}` }) };
}

let pool: InferencePool;
let service: ModelService;

before(async () => {
  pool = new InferencePool({ workers: 1 });
  service = await startModelService({ model: MODEL_PATH, port: 0, pool, maxDelayMs: 1 });
});

after(async () => {
  await service?.close();
  await pool?.close();
});

describe('oipClient against the Sluice model service', () => {
  it('scores batches of 1..N exactly as the pool does, with the model version', async () => {
    const client = oipClient({ url: service.url, model: 'fraud-v1', timeoutMs: 5000 });
    for (const rows of [1, 2, 5, 33, 128]) {
      const features = featureRows(rows, 40 + rows);
      const { scores, modelVersion } = await client.infer(features, rows, COLUMNS);
      assert.equal(modelVersion, 'fraud-v1');
      assert.deepEqual(Array.from(scores), await directScores(pool, features, rows), `${rows} rows`);
    }
    assert.equal(await client.ready(), true);
  });

  it('reports a refused request (4xx) as not retriable, with the service message', async () => {
    const client = oipClient({ url: service.url, model: 'fraud-v2', timeoutMs: 5000 });
    const error = await client.infer(featureRows(1), 1, COLUMNS).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ModelServiceRequestError, String(error));
    assert.ok(error instanceof SluiceError);
    assert.equal(error.retriable, false);
    assert.equal(error.status, 404);
    assert.match(error.message, /model metadata of fraud-v2 failed with HTTP 404: unknown model "fraud-v2"/);
  });

  it('refuses rows of the wrong width before sending them', async () => {
    const client = oipClient({ url: service.url, model: 'fraud-v1', timeoutMs: 5000 });
    await assert.rejects(client.infer(new Float32Array(9), 1, 9), (error: unknown) => error instanceof InvalidOptionError && /takes 10 features per row, not 9/.test(error.message));
  });
});

describe('oipClient against other Open Inference Protocol servers', () => {
  it('talks to a Triton-shaped server: tensor names from metadata, versioned URLs, nested output data, traceparent', async (t) => {
    const triton = await stubServer(tritonLike);
    t.after(() => triton.close());
    const client = oipClient({ url: `${triton.url}/`, model: 'fraud', version: '1', timeoutMs: 5000 });
    const features = featureRows(3, 5);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { scores, modelVersion } = await client.infer(features, 3, COLUMNS, { traceparent });
    assert.equal(modelVersion, '1');
    assert.deepEqual(Array.from(scores), [features[0], features[10], features[20]]);
    await client.infer(features, 3, COLUMNS);
    assert.deepEqual(triton.seen.map((s) => `${s.method} ${s.url}`), ['GET /v2/models/fraud/versions/1', 'POST /v2/models/fraud/versions/1/infer', 'POST /v2/models/fraud/versions/1/infer'], 'metadata is read once');
    const sent = JSON.parse(triton.seen[1]!.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(sent).sort(), ['id', 'inputs', 'outputs']);
    assert.deepEqual(sent.outputs, [{ name: 'output__0' }]);
    assert.deepEqual({ ...(sent.inputs as Record<string, unknown>[])[0], data: undefined }, { name: 'input__0', shape: [3, 10], datatype: 'FP32', data: undefined });
    assert.equal(triton.seen[1]!.headers.traceparent, traceparent);
    assert.equal(triton.seen[1]!.headers['content-type'], 'application/json');
    assert.equal(triton.seen[2]!.headers.traceparent, undefined);
  });

  it('uses the version it asked for when the server reports none', async (t) => {
    const server = await stubServer((seen) => (seen.method === 'GET' ? { status: 200, body: TRITON_METADATA } : { status: 200, body: JSON.stringify({ model_name: 'fraud', outputs: [{ name: 'output__0', shape: [1, 1], datatype: 'FP32', data: [0.25] }] }) }));
    t.after(() => server.close());
    assert.equal((await oipClient({ url: server.url, model: 'fraud', version: '7', timeoutMs: 5000 }).infer(featureRows(1), 1, COLUMNS)).modelVersion, '7');
    assert.equal((await oipClient({ url: server.url, model: 'fraud', timeoutMs: 5000 }).infer(featureRows(1), 1, COLUMNS)).modelVersion, 'unknown');
  });

  it('reports a 500 as retriable with the server message, and asks for metadata again after a failure', async (t) => {
    let metadataFailures = 1;
    const server = await stubServer((seen) => {
      if (seen.method === 'GET') return metadataFailures-- > 0 ? { status: 503, body: 'warming up' } : { status: 200, body: TRITON_METADATA };
      return { status: 500, body: JSON.stringify({ error: 'onnxruntime failed: out of memory' }) };
    });
    t.after(() => server.close());
    const client = oipClient({ url: server.url, model: 'fraud', timeoutMs: 5000 });
    await assert.rejects(client.infer(featureRows(1), 1, COLUMNS), (error: unknown) => error instanceof ModelServiceUnavailableError && error.retriable && error.status === 503 && /HTTP 503: warming up/.test(error.message));
    await assert.rejects(client.infer(featureRows(1), 1, COLUMNS), (error: unknown) => error instanceof ModelServiceUnavailableError && error.retriable && error.status === 500 && /inference on fraud failed with HTTP 500: onnxruntime failed: out of memory$/.test(error.message));
  });

  it('reports an unreadable answer as not retriable', async (t) => {
    const server = await stubServer((seen) => (seen.method === 'GET' ? { status: 200, body: TRITON_METADATA } : { status: 200, body: '<html>proxy</html>' }));
    t.after(() => server.close());
    await assert.rejects(oipClient({ url: server.url, model: 'fraud', timeoutMs: 5000 }).infer(featureRows(1), 1, COLUMNS), (error: unknown) => error instanceof ModelServiceProtocolError && !error.retriable);
  });

  it('reports no answer within timeoutMs as a retriable timeout', async (t) => {
    const server = await stubServer((seen) => (seen.method === 'GET' ? { status: 200, body: TRITON_METADATA } : 'hang'));
    t.after(() => server.close());
    const client = oipClient({ url: server.url, model: 'fraud', timeoutMs: 100 });
    await assert.rejects(client.infer(featureRows(1), 1, COLUMNS), (error: unknown) => error instanceof ModelServiceTimeoutError && error.retriable && /did not answer within 100 ms/.test(error.message));
  });

  it('reports a refused connection as retriable, and ready() as false', async () => {
    const gone = await stubServer(tritonLike);
    await gone.close();
    const client = oipClient({ url: gone.url, model: 'fraud', timeoutMs: 5000 });
    await assert.rejects(client.infer(featureRows(1), 1, COLUMNS), (error: unknown) => error instanceof ModelServiceUnavailableError && error.retriable && /cannot be reached \(ECONNREFUSED\)/.test(error.message));
    assert.equal(await client.ready(), false);
  });

  it('refuses a zero timeout at the boundary', () => {
    assert.throws(() => oipClient({ url: 'http://127.0.0.1:1', model: 'm', timeoutMs: 0 }), /timeoutMs must be a positive integer \(got 0\)/);
  });
});
