import assert from 'node:assert/strict';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { startMetricsServer } from '../../../runtime/telemetry/metricsServer.ts';
import { startTelemetry } from '../../../runtime/telemetry/telemetry.ts';

/** An IPv4 address of this machine that is not loopback, if it has one. */
function outsideAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return undefined;
}

/** The status of GET /metrics at host:port, or the connection error's code. */
function get(host: string, port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/metrics', timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

function registry(): Registry {
  const r = new Registry();
  r.setDefaultLabels({ test: 'metrics-host' });
  return r;
}

describe('the metrics server address', () => {
  const outside = outsideAddress();

  it('binds 127.0.0.1 by default and says so', async (t) => {
    const server = await startMetricsServer(registry(), { port: 0 });
    t.after(() => server.close());
    assert.equal(server.host, '127.0.0.1');
    assert.equal(server.url, `http://127.0.0.1:${server.port}/metrics`);
    assert.equal(await get('127.0.0.1', server.port), 200);
  });

  it('refuses a connection on a non-loopback address of the machine by default', { skip: outside === undefined ? 'this machine has no non-loopback IPv4 address; the test above checks the bound address is 127.0.0.1' : false }, async (t) => {
    const server = await startMetricsServer(registry(), { port: 0 });
    t.after(() => server.close());
    assert.equal(await get(outside!, server.port), 'ECONNREFUSED', `GET http://${outside}:${server.port}/metrics`);
  });

  it('serves every interface with host 0.0.0.0, and the start-up line says 0.0.0.0', async (t) => {
    const telemetry = await startTelemetry({ jobName: 'metrics-host', metricsPort: 0, metricsHost: '0.0.0.0', env: {} });
    t.after(() => telemetry.stop());
    const server = telemetry.metricsServer!;
    assert.equal(server.host, '0.0.0.0');
    assert.deepEqual(telemetry.describe(), [`metrics: http://0.0.0.0:${server.port}/metrics`]);
    assert.equal(await get('127.0.0.1', server.port), 200);
    if (outside === undefined) t.diagnostic('no non-loopback IPv4 address on this machine: reached over loopback only');
    else assert.equal(await get(outside, server.port), 200, `GET http://${outside}:${server.port}/metrics`);
  });

  it('states the default address in the telemetry start-up line', async (t) => {
    const telemetry = await startTelemetry({ jobName: 'metrics-host', metricsPort: 0, env: {} });
    t.after(() => telemetry.stop());
    assert.deepEqual(telemetry.describe(), [`metrics: http://127.0.0.1:${telemetry.metricsServer!.port}/metrics`]);
  });

  it('names the address when it cannot bind', async () => {
    await assert.rejects(startMetricsServer(registry(), { port: 0, host: '203.0.113.7' }), /cannot serve metrics on 203\.0\.113\.7 port 0: .* — check --metrics-host and --metrics-port$/);
  });
});
