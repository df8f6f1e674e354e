import assert from 'node:assert/strict';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { startUiServer, type UiRoutes } from '../../../runtime/ui/uiServer.ts';

/** An IPv4 address of this machine that is not loopback, if it has one. */
function outsideAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return undefined;
}

/** GET host:port/path: status, headers and body, or the connection error's code. */
function get(host: string, port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string } | string> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, headers, timeout: 2000 }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

function routes(registry?: Registry): UiRoutes & { send: (event: string, data: unknown) => void } {
  const listeners = new Set<(event: string, data: unknown) => void>();
  return {
    job: () => ({ name: 'j' }),
    metrics: () => ({ at: 1 }),
    listen: (send) => {
      listeners.add(send);
      return () => listeners.delete(send);
    },
    registry,
    send: (event, data) => listeners.forEach((send) => send(event, data)),
  };
}

describe('the dashboard server', () => {
  const outside = outsideAddress();

  it('binds 127.0.0.1 by default and serves the page, its scripts, uPlot and the API', async (t) => {
    const server = await startUiServer(routes(), { port: 0 });
    t.after(() => server.close());
    assert.equal(server.host, '127.0.0.1');
    assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
    for (const [path, type, text] of [
      ['/', 'text/html', '<svg id="graph"'],
      ['/app.js', 'text/javascript', 'EventSource'],
      ['/graph.js', 'text/javascript', 'renderGraph'],
      ['/style.css', 'text/css', '#graph'],
      ['/vendor/uPlot.iife.min.js', 'text/javascript', 'uPlot'],
      ['/vendor/uPlot.min.css', 'text/css', '.uplot'],
      ['/api/job', 'application/json', '{"name":"j"}'],
      ['/api/metrics', 'application/json', '{"at":1}'],
    ] as const) {
      const answer = await get('127.0.0.1', server.port, path);
      assert.ok(typeof answer !== 'string', `${path}: ${answer}`);
      assert.equal(answer.status, 200, path);
      assert.ok(answer.type.startsWith(type), `${path}: ${answer.type}`);
      assert.ok(answer.body.includes(text), `${path} holds ${text}`);
    }
  });

  it('refuses a connection on a non-loopback address of the machine by default', { skip: outside === undefined ? 'this machine has no non-loopback IPv4 address; the test above checks the bound address is 127.0.0.1' : false }, async (t) => {
    const server = await startUiServer(routes(), { port: 0 });
    t.after(() => server.close());
    assert.equal(await get(outside!, server.port, '/api/job'), 'ECONNREFUSED', `GET http://${outside}:${server.port}/api/job`);
  });

  it('serves other hosts with --ui-host 0.0.0.0', { skip: outside === undefined ? 'no non-loopback IPv4 address' : false }, async (t) => {
    const server = await startUiServer(routes(), { port: 0, host: '0.0.0.0' });
    t.after(() => server.close());
    assert.equal(server.host, '0.0.0.0');
    const answer = await get(outside!, server.port, '/api/job');
    assert.ok(typeof answer !== 'string' && answer.status === 200, `GET http://${outside}:${server.port}/api/job: ${JSON.stringify(answer)}`);
  });

  it('on loopback, answers only to loopback Host names (no DNS rebinding)', async (t) => {
    const server = await startUiServer(routes(), { port: 0 });
    t.after(() => server.close());
    const rebound = await get('127.0.0.1', server.port, '/api/job', { host: `attacker.example:${server.port}` });
    assert.ok(typeof rebound !== 'string');
    assert.equal(rebound.status, 403);
    assert.ok(!rebound.body.includes('"name"'));
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, 'localhost']) {
      const answer = await get('127.0.0.1', server.port, '/api/job', { host });
      assert.ok(typeof answer !== 'string' && answer.status === 200, host);
    }
  });

  it('pushes events to /api/events until it closes', async (t) => {
    const r = routes();
    const server = await startUiServer(r, { port: 0 });
    t.after(() => server.close());
    const received = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/api/events' }, (response) => {
        assert.equal(response.headers['content-type'], 'text/event-stream');
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\n\n') && !text.includes('event: metrics')) r.send('metrics', { at: 2 });
          if (text.includes('data: {"at":2}\n\n')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    assert.match(received, /event: metrics\ndata: \{"at":2\}\n\n/);
  });

  it('serves /metrics when metrics are on, and says how to turn them on otherwise', async (t) => {
    const registry = new Registry();
    registry.setDefaultLabels({ sluice_job: 'j' });
    const on = await startUiServer(routes(registry), { port: 0 });
    const off = await startUiServer(routes(), { port: 0 });
    t.after(() => Promise.all([on.close(), off.close()]));
    const served = await get('127.0.0.1', on.port, '/metrics');
    assert.ok(typeof served !== 'string' && served.status === 200 && served.type.startsWith('text/plain'));
    const missing = await get('127.0.0.1', off.port, '/metrics');
    assert.ok(typeof missing !== 'string' && missing.status === 404);
    assert.match(missing.body, /--metrics-port/);
  });

  it('says which port is taken', async (t) => {
    const first = await startUiServer(routes(), { port: 0 });
    t.after(() => first.close());
    await assert.rejects(startUiServer(routes(), { port: first.port }), new RegExp(`dashboard port ${first.port} is already in use — pick another with --ui <port>`));
  });
});
