import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { defineJob } from '../../core/defineJob.ts';
import { SluiceError } from '../../core/errors.ts';
import { Instrumentation } from '../../core/instrumentation.ts';
import { input, output } from '../../core/streams.ts';
import { enrich } from '../../operators/enrich.ts';
import { EnrichMetrics } from '../../runtime/telemetry/enrichMetrics.ts';
import { runTestJob } from '../kit/jobs.ts';

describe('enrich metrics', () => {
  let url = '';
  let hits = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      hits += 1;
      response.writeHead(503).end('{"error":"overloaded"}');
    });
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reports the open breaker, retries, failed and refused calls and fallbacks of a failing service', async () => {
    const job = defineJob({
      name: 'enrich-metrics',
      inputs: { n: input('n', { parse: (value: unknown) => value as number }) },
      outputs: { out: output<number>('out') },
      pipeline: ({ n }) =>
        n.pipe(
          enrich<number, number, number>(
            {
              call: async (values, { signal }) => {
                const response = await fetch(url, { method: 'POST', body: JSON.stringify(values), signal });
                throw new SluiceError(`HTTP ${response.status}`, { retriable: true });
              },
              output: (value) => value,
              fallback: () => -1,
              batch: { maxSize: 1 },
              concurrency: 1,
              retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
              breaker: { window: 4, minimumCalls: 4, threshold: 0.5, halfOpenAfterMs: 60_000 },
            },
            { stage: 'rules' },
          ),
        ),
    });
    const instrumentation = new Instrumentation();
    const registry = new Registry();
    new EnrichMetrics([registry]).subscribe(instrumentation);
    const { stats, outputs } = await runTestJob(job, { sources: { n: generatorSource({ count: 10, make: (i) => i }) }, engine: { instrumentation } });
    assert.equal(stats.out, 10);
    assert.deepEqual(outputs.out!.values, new Array(10).fill(-1));
    const text = await registry.metrics();
    assert.match(text, /^sluice_circuit_breaker_open\{stage="rules"\} 1$/m);
    // Two requests of two attempts each fill the window of four failures; the other eight are refused.
    assert.equal(hits, 4);
    assert.match(text, /^sluice_enrich_retries_total\{stage="rules"\} 2$/m);
    assert.match(text, /^sluice_enrich_call_duration_seconds_count\{stage="rules",outcome="failed"\} 2$/m);
    assert.match(text, /^sluice_enrich_call_duration_seconds_count\{stage="rules",outcome="refused"\} 8$/m);
    assert.match(text, /^sluice_enrich_fallbacks_total\{stage="rules"\} 10$/m);
  });
});
