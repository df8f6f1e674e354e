import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { defineJob } from '../../core/defineJob.ts';
import { SluiceError } from '../../core/errors.ts';
import type { Source } from '../../core/job.ts';
import { input, output } from '../../core/streams.ts';
import { enrich, type EnrichOptions } from '../../operators/enrich.ts';
import type { EnrichBreakerOptions, EnrichRetryOptions } from '../../operators/enrichPolicy.ts';
import { testDriver } from '../../runtime/testing/testDriver.ts';
import { runTestJob } from '../kit/jobs.ts';

interface Item {
  key: string;
  seq: number;
}
interface Out {
  key: string;
  seq: number;
  result: number;
  fallback: boolean;
}

type Mode = 'ok' | 'fail' | 'hang' | { slowMs: number } | { failEvery: number; slowMs: number };

/** A local HTTP service answering `{ values }` with `{ results: seq * 2 }`; counts the requests that reach it. */
class TestService {
  mode: Mode = 'ok';
  hits = 0;
  /** Values received over all requests (a retried request counts again). */
  values = 0;
  readonly #server: Server;
  readonly #hanging = new Set<() => void>();

  constructor() {
    this.#server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        this.hits += 1;
        if (body.startsWith('{')) this.values += (JSON.parse(body) as { values: unknown[] }).values.length;
        const mode = this.mode;
        const answer = () => {
          if (mode === 'fail' || (typeof mode === 'object' && 'failEvery' in mode && this.hits % mode.failEvery === 0)) {
            response.writeHead(500).end('{"error":"boom"}');
            return;
          }
          const { values } = JSON.parse(body) as { values: Item[] };
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results: values.map((v) => v.seq * 2) }));
        };
        if (mode === 'hang') {
          this.#hanging.add(() => response.destroy());
          return;
        }
        if (typeof mode === 'object') setTimeout(answer, mode.slowMs);
        else answer();
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const end of this.#hanging) end();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

class HttpError extends SluiceError {}

/** The enrich call of the tests: one POST per batch; 5xx and unreachable are retriable. */
function httpCall(url: string): EnrichOptions<Item, number, Out>['call'] {
  return async (values, { signal }) => {
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', body: JSON.stringify({ values }), signal });
    } catch (error) {
      throw new HttpError(`cannot reach ${url}`, { retriable: true, cause: error });
    }
    if (response.status !== 200) throw new HttpError(`HTTP ${response.status}`, { retriable: response.status >= 500 });
    return ((await response.json()) as { results: number[] }).results;
  };
}

function enrichJob(url: string, options: { batch?: number; concurrency?: number; timeoutMs?: number; retry?: EnrichRetryOptions; breaker?: EnrichBreakerOptions | false }) {
  return defineJob({
    name: 'enrich-test',
    inputs: { items: input('items', { parse: (value: unknown) => value as Item }, { key: (item) => item.key }) },
    outputs: { out: output<Out>('out') },
    pipeline: ({ items }) =>
      items.pipe(
        enrich<Item, number, Out>({
          call: httpCall(url),
          output: (item, result) => ({ key: item.key, seq: item.seq, result, fallback: false }),
          fallback: (item) => ({ key: item.key, seq: item.seq, result: -1, fallback: true }),
          batch: { maxSize: options.batch ?? 8 },
          concurrency: options.concurrency ?? 3,
          timeoutMs: options.timeoutMs ?? 2000,
          retry: options.retry ?? { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
          breaker: options.breaker ?? false,
        }),
      ),
  });
}

const items = (count: number, keys = 7): Item[] => Array.from({ length: count }, (_, seq) => ({ key: `k${seq % keys}`, seq }));

/** Every item exactly once, and per key in arrival order. */
function assertAllOnceInKeyOrder(out: readonly Out[], count: number): void {
  assert.equal(out.length, count);
  assert.deepEqual(out.map((o) => o.seq).sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i));
  const last = new Map<string, number>();
  for (const o of out) {
    assert.ok((last.get(o.key) ?? -1) < o.seq, `key ${o.key}: seq ${o.seq} after ${String(last.get(o.key))}`);
    last.set(o.key, o.seq);
  }
}

describe('enrich against a local HTTP service', () => {
  const service = new TestService();
  let url = '';
  before(async () => (url = await service.start()));
  after(() => service.close());

  it('scores every record with one request per batch, in per-key order', async () => {
    service.mode = { slowMs: 3 };
    service.hits = 0;
    service.values = 0;
    const driver = await testDriver(enrichJob(url, { batch: 8 }));
    driver.inputs.items.pipeAll(items(100));
    const out = await driver.outputs.out.read();
    assertAllOnceInKeyOrder(out, 100);
    assert.ok(out.every((o) => !o.fallback && o.result === o.seq * 2));
    // Each record sent once, in requests of at most 8 (batches close early only when the input pauses).
    assert.equal(service.values, 100);
    assert.ok(service.hits >= Math.ceil(100 / 8) && service.hits < 100, `requests ${service.hits}`);
    assert.equal((await driver.deadLetters.read()).length, 0);
    await driver.close();
  });

  it('gives every record the fallback and a dead letter when the service answers 500, after retrying each request once', async () => {
    service.mode = 'fail';
    service.hits = 0;
    service.values = 0;
    const driver = await testDriver(enrichJob(url, { batch: 10 }));
    driver.inputs.items.pipeAll(items(50));
    const out = await driver.outputs.out.read();
    assertAllOnceInKeyOrder(out, 50);
    assert.ok(out.every((o) => o.fallback));
    // Every record was sent twice: the request and its one retry.
    assert.equal(service.values, 50 * 2);
    assert.equal(service.hits % 2, 0);
    const dead = await driver.deadLetters.read();
    assert.equal(dead.length, 50);
    assert.match(dead[0]!.reason, /^enrich: HTTP 500/);
    await driver.close();
  });

  it('falls back when the service never answers within timeoutMs', async () => {
    service.mode = 'hang';
    service.hits = 0;
    const driver = await testDriver(enrichJob(url, { batch: 25, timeoutMs: 100, retry: { maxAttempts: 1 } }));
    driver.inputs.items.pipeAll(items(50));
    const out = await driver.outputs.out.read();
    assertAllOnceInKeyOrder(out, 50);
    assert.ok(out.every((o) => o.fallback));
    const dead = await driver.deadLetters.read();
    assert.equal(dead.length, 50);
    assert.match(dead[0]!.reason, /no answer within 100 ms/);
    await driver.close();
  });

  it('falls back when the service is down', async () => {
    const down = new TestService();
    const downUrl = await down.start();
    await down.close();
    const driver = await testDriver(enrichJob(downUrl, { batch: 10 }));
    driver.inputs.items.pipeAll(items(30));
    const out = await driver.outputs.out.read();
    assertAllOnceInKeyOrder(out, 30);
    assert.ok(out.every((o) => o.fallback));
    assert.match((await driver.deadLetters.read())[0]!.reason, /cannot reach/);
    await driver.close();
  });

  it('keeps in = out and per-key order when some requests fail and answers come back out of order', async () => {
    service.mode = { failEvery: 3, slowMs: 4 };
    service.hits = 0;
    const driver = await testDriver(enrichJob(url, { batch: 4, concurrency: 4, retry: { maxAttempts: 1 } }));
    driver.inputs.items.pipeAll(items(120));
    const out = await driver.outputs.out.read();
    assertAllOnceInKeyOrder(out, 120);
    const fallbacks = out.filter((o) => o.fallback).length;
    assert.ok(fallbacks > 0 && fallbacks < 120, `fallbacks ${fallbacks}`);
    assert.equal((await driver.deadLetters.read()).length, fallbacks);
    assert.ok(out.filter((o) => !o.fallback).every((o) => o.result === o.seq * 2));
    await driver.close();
  });

  it('opens the breaker after the failure threshold, half-opens after the cool-down on the job clock, and closes when the service is healthy', async () => {
    service.mode = 'fail';
    service.hits = 0;
    const breaker = { threshold: 0.5, window: 4, minimumCalls: 4, halfOpenAfterMs: 10_000 };
    const driver = await testDriver(enrichJob(url, { batch: 1, concurrency: 1, retry: { maxAttempts: 1 }, breaker }));
    driver.inputs.items.pipeAll(items(20));
    let out = await driver.outputs.out.read();
    assert.equal(out.length, 20);
    assert.ok(out.every((o) => o.fallback));
    // Four failed calls open it; the other sixteen records never reach the service.
    assert.equal(service.hits, 4);
    const dead = await driver.deadLetters.read();
    assert.equal(dead.length, 20);
    assert.equal(dead.filter((d) => /circuit breaker open/.test(d.reason)).length, 16);

    service.mode = 'ok';
    driver.inputs.items.pipeAll(items(5).map((item) => ({ ...item, seq: item.seq + 100 })));
    out = await driver.outputs.out.read();
    assert.ok(out.every((o) => o.fallback), 'still open: the cool-down has not passed on the job clock');
    assert.equal(service.hits, 4);

    await driver.advanceTime('10s');
    driver.inputs.items.pipeAll(items(5).map((item) => ({ ...item, seq: item.seq + 200 })));
    out = await driver.outputs.out.read();
    // The first record is the half-open probe; it succeeds, the breaker closes, the rest are called too.
    assert.deepEqual(out.map((o) => o.fallback), [false, false, false, false, false]);
    assert.equal(service.hits, 9);
    await driver.close();
  });

  it('a slow service keeps records in flight within the budget and makes the source wait', async () => {
    service.mode = { slowMs: 15 };
    service.hits = 0;
    let waits = 0;
    const generated = generatorSource<Item>({ count: 400, make: (seq) => ({ key: `k${seq % 7}`, seq }), key: (item) => item.key });
    const counted: Source<Item> = {
      name: generated.name,
      run: (ctx) =>
        generated.run({
          ...ctx,
          emit: (record) => {
            const wait = ctx.emit(record);
            if (wait !== undefined) waits += 1;
            return wait;
          },
        }),
    };
    const { stats, outputs } = await runTestJob(enrichJob(url, { batch: 8, concurrency: 2 }), { sources: { items: counted as Source<unknown> }, maxInFlight: 32 });
    assert.equal(stats.in, 400);
    assertAllOnceInKeyOrder(outputs.out!.values as Out[], 400);
    assert.ok(stats.peakInFlight <= 32, `peak in flight ${stats.peakInFlight}`);
    assert.ok(waits > 0, 'the source never waited for the budget');
    assert.ok(service.hits >= 400 / 8);
  });
});
