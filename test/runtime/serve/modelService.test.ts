import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InferencePool } from '../../../runtime/inferencePool.ts';
import { startModelService, type ModelService } from '../../../runtime/serve/modelService.ts';
import { COLUMNS, directScores, featureRows, inferBody, MODEL_PATH } from './kit.ts';

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

const infer = (body: string, path = '/v2/models/fraud-v1/infer', headers: Record<string, string> = {}) =>
  fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

interface ErrorBody {
  error: string;
}

/** Every refusal is a 4xx with the protocol's one-line `{"error"}` body. */
async function refused(response: Response, status: number, message: RegExp, version = 'fraud-v1'): Promise<void> {
  const body = (await response.json()) as ErrorBody;
  assert.equal(response.status, status, body.error);
  assert.deepEqual(Object.keys(body), ['error']);
  assert.match(body.error, message);
  assert.doesNotMatch(body.error, /\n/);
  assert.equal(response.headers.get('x-model-version'), version);
}

describe('model service: options', () => {
  it('refuses options out of range with exact messages, before starting workers', async () => {
    await assert.rejects(startModelService({ model: MODEL_PATH, port: 0, maxBatch: 0 }), /^InvalidOptionError: maxBatch must be a positive integer \(got 0\)$/);
    await assert.rejects(startModelService({ model: MODEL_PATH, port: 0, maxDelayMs: -1 }), /maxDelayMs must be a non-negative number \(got -1\)/);
    await assert.rejects(startModelService({ model: MODEL_PATH, port: 0, maxBodyBytes: 1.5 }), /maxBodyBytes must be a positive integer \(got 1.5\)/);
  });
});

describe('model service: health and metadata', () => {
  it('binds 127.0.0.1 by default', () => {
    assert.match(service.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers live and ready with 200 and an empty body', async () => {
    for (const path of ['/v2/health/live', '/v2/health/ready', '/v2/models/fraud-v1/ready', '/v2/models/fraud-v1/versions/fraud-v1/ready']) {
      const response = await fetch(`${service.url}${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(await response.text(), '', path);
    }
  });

  it('describes the model: name, versions, platform and tensors', async () => {
    const response = await fetch(`${service.url}/v2/models/fraud-v1`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      name: 'fraud-v1',
      versions: ['fraud-v1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 10] }],
      outputs: [{ name: 'score', datatype: 'FP32', shape: [-1, 1] }],
    });
    assert.equal((await fetch(`${service.url}/v2/models/fraud-v1/versions/fraud-v1`)).status, 200);
  });

  it('describes the server at GET /v2', async () => {
    const body = (await (await fetch(`${service.url}/v2`)).json()) as { name: string; extensions: unknown[] };
    assert.equal(body.name, 'sluice');
    assert.deepEqual(body.extensions, []);
  });

  it('answers 404 with an {"error"} body for an unknown model or version', async () => {
    await refused(await fetch(`${service.url}/v2/models/other`), 404, /unknown model "other" — this service serves "fraud-v1"/);
    await refused(await fetch(`${service.url}/v2/models/fraud-v1/versions/9/ready`), 404, /has no version "9"/);
    await refused(await infer(inferBody(featureRows(1), 1), '/v2/models/other/infer'), 404, /unknown model/);
  });
});

describe('model service: inference', () => {
  for (const rows of [1, 2, 3, 7, 16, 64, 300]) {
    it(`scores a batch of ${rows} exactly as the pool does directly`, async () => {
      const features = featureRows(rows, rows);
      const response = await infer(inferBody(features, rows, { id: `req-${rows}` }));
      assert.equal(response.status, 200);
      const body = (await response.json()) as { model_name: string; model_version: string; id: string; outputs: { name: string; shape: number[]; datatype: string; data: number[] }[] };
      assert.equal(body.model_name, 'fraud-v1');
      assert.equal(body.model_version, 'fraud-v1');
      assert.equal(body.id, `req-${rows}`);
      assert.equal(body.outputs.length, 1);
      assert.deepEqual({ ...body.outputs[0], data: undefined }, { name: 'score', shape: [rows, 1], datatype: 'FP32', data: undefined });
      assert.deepEqual(body.outputs[0]!.data, await directScores(pool, features, rows));
      assert.ok(body.outputs[0]!.data.some((score) => score !== body.outputs[0]!.data[0]) || rows === 1, 'rows get their own scores');
    });
  }

  it('accepts nested (natural-shape) data, the versioned URL, and a requested output', async () => {
    const features = featureRows(2, 9);
    const nested = [Array.from(features.subarray(0, COLUMNS)), Array.from(features.subarray(COLUMNS))];
    const response = await infer(JSON.stringify({ inputs: [{ name: 'features', shape: [2, COLUMNS], datatype: 'FP32', data: nested }], outputs: [{ name: 'score' }] }), '/v2/models/fraud-v1/versions/fraud-v1/infer');
    assert.equal(response.status, 200);
    const body = (await response.json()) as { id?: string; outputs: { data: number[] }[] };
    assert.equal(body.id, undefined, 'no id in the request, none in the response');
    assert.deepEqual(body.outputs[0]!.data, await directScores(pool, features, 2));
  });
});

describe('model service: malformed requests get a 4xx and the service stays up', () => {
  const row = Array.from(featureRows(1));
  const tensor = (change: Record<string, unknown>) => JSON.stringify({ inputs: [{ name: 'features', shape: [1, COLUMNS], datatype: 'FP32', data: row, ...change }] });
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ['bad JSON', () => infer('{"inputs": [', undefined), 400, /request body is not valid JSON/],
    ['not an object', () => infer('[1,2]'), 400, /must be a JSON object with an "inputs" array/],
    ['no inputs', () => infer('{"inputs": []}'), 400, /"inputs" must be a non-empty array holding the tensor "features"/],
    ['missing tensor', () => infer(tensor({ name: 'x' })), 400, /input tensor "features" is missing \(got "x"\)/],
    ['wrong shape', () => infer(tensor({ shape: [1, 9] })), 400, /shape \[1,9\], expected \[rows, 10\]/],
    ['shape of rank 1', () => infer(tensor({ shape: [10] })), 400, /shape \[10\], expected \[rows, 10\]/],
    ['wrong datatype', () => infer(tensor({ datatype: 'INT64' })), 400, /datatype "INT64", expected "FP32"/],
    ['data shorter than shape', () => infer(tensor({ shape: [2, COLUMNS] })), 400, /has 10 data elements but its shape needs 20/],
    ['a string in data', () => infer(tensor({ data: [...row.slice(1), 'x'] })), 400, /element 9 is "x", not a number/],
    ['a number beyond float32', () => infer(tensor({ data: [1e39, ...row.slice(1)] })), 400, /element 0 \(1e\+39\) is not a finite float32/],
    ['an unknown output', () => infer(JSON.stringify({ ...JSON.parse(tensor({})), outputs: [{ name: 'logits' }] })), 400, /unknown output "logits"/],
    ['binary output asked for', () => infer(JSON.stringify({ ...JSON.parse(tensor({})), outputs: [{ name: 'score', parameters: { binary_data: true } }] })), 400, /binary output data is not supported/],
    ['GET on infer', () => fetch(`${service.url}/v2/models/fraud-v1/infer`), 405, /GET is not allowed here — use POST/],
    ['body over 8 MiB', () => infer(`{"inputs":[${' '.repeat(9 * 1024 * 1024)}]}`), 413, /request body is larger than 8 MiB/],
  ];
  for (const [name, send, status, message] of cases) {
    it(`${name} → ${status}`, async () => {
      await refused(await send(), status, message);
      const after = await infer(inferBody(featureRows(1), 1));
      assert.equal(after.status, 200, 'the service still scores afterwards');
      await after.arrayBuffer();
    });
  }

  it('counts requests by status and observes latency and batch sizes in /metrics', async () => {
    const response = await fetch(`${service.url}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /sluice_serve_requests_total\{endpoint="infer",status="200",model="fraud-v1"\} [1-9]\d*/);
    assert.match(text, /sluice_serve_requests_total\{endpoint="infer",status="400",model="fraud-v1"\} [1-9]\d*/);
    assert.match(text, /sluice_serve_requests_total\{endpoint="infer",status="413",model="fraud-v1"\} 1\n/);
    assert.match(text, /sluice_serve_request_duration_seconds_count\{model="fraud-v1",endpoint="infer"\} [1-9]\d*/);
    assert.match(text, /sluice_serve_batch_rows_bucket\{le="512",model="fraud-v1"\} [1-9]\d*/);
    assert.match(text, /sluice_serve_queue_depth\{stage="batch",model="fraud-v1"\} 0/);
  });
});

describe('model service: a registry version', () => {
  it('serves models/fraud@1 as model "fraud" version "1", scoring like fraud-v1', async (t) => {
    const registry = await startModelService({ model: 'models/fraud@1', port: 0, pool, maxDelayMs: 0 });
    t.after(() => registry.close());
    const metadata = (await (await fetch(`${registry.url}/v2/models/fraud`)).json()) as { name: string; versions: string[] };
    assert.deepEqual([metadata.name, metadata.versions], ['fraud', ['1']]);
    const features = featureRows(5, 3);
    const response = await fetch(`${registry.url}/v2/models/fraud/versions/1/infer`, { method: 'POST', body: inferBody(features, 5) });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-model-version'), '1');
    const body = (await response.json()) as { model_name: string; model_version: string; outputs: { data: number[] }[] };
    assert.deepEqual([body.model_name, body.model_version], ['fraud', '1']);
    // Version 1 of the registry is fraud-v1 retrained byte-identical.
    assert.deepEqual(body.outputs[0]!.data, await directScores(pool, features, 5));
    await refused(await fetch(`${registry.url}/v2/models/fraud/versions/2/ready`), 404, /has no version "2" — this service serves version "1"/, '1');
  });
});
