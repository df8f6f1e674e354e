import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import { describeError } from '../../core/errors.ts';
import { answerMetrics, listen } from '../telemetry/metricsServer.ts';

/** Where the dashboard listens unless told otherwise: this machine only. */
export const DEFAULT_UI_HOST = '127.0.0.1';

/** What the server asks of the dashboard for each request. */
export interface UiRoutes {
  /** `/api/job`. */
  job(): unknown;
  /** `/api/metrics` (with history). */
  metrics(): unknown;
  /** Registers a server-sent-events listener; returns its removal. */
  listen(send: (event: string, data: unknown) => void): () => void;
  /** The Prometheus registry of `--metrics-port`, served at `/metrics` too; undefined: metrics are off. */
  readonly registry: Pick<Registry, 'metrics' | 'contentType'> | undefined;
}

export interface UiServer {
  readonly port: number;
  /** The address the socket is bound to (`127.0.0.1`, `0.0.0.0`). */
  readonly host: string;
  /** `http://<address>:<port>/`, for the start-up line. */
  readonly url: string;
  close(): Promise<void>;
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/graph.js': { file: 'graph.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Every answer: no framing by other sites, no sniffing, nothing loaded from elsewhere, no referrer to trace links. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
};

/**
 * Serves the dashboard: the page (plain HTML, CSS and JS from runtime/ui/static, uPlot from
 * node_modules), `/api/job`, `/api/metrics`, `/api/events` (server-sent events, one `metrics`
 * event a second) and, when metrics are on, `/metrics`. Binds 127.0.0.1 unless `host` says
 * otherwise; on a loopback address it also refuses requests whose Host header is not a
 * loopback name, so a web page cannot reach it through DNS rebinding.
 *
 * @example
 * const server = await startUiServer(routes, { port: 8081 });
 * // open http://127.0.0.1:8081/
 * await server.close();
 */
export async function startUiServer(routes: UiRoutes, options: { port: number; host?: string | undefined }): Promise<UiServer> {
  const bindHost = options.host === undefined || options.host.trim() === '' ? DEFAULT_UI_HOST : options.host.trim();
  const files = await loadFiles();
  const streams = new Set<ServerResponse>();
  const server: Server = createServer((request, response) => {
    try {
      handle(request, response);
    } catch (error) {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`dashboard failed: ${describeError(error)}\n`);
    }
  });

  function handle(request: IncomingMessage, response: ServerResponse): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (isLoopback(bindHost) && !isLoopbackName(request.headers.host)) {
      response.writeHead(403, { 'content-type': 'text/plain' }).end('the dashboard answers only to localhost names; start it with --ui-host to serve others\n');
      return;
    }
    const path = (request.url ?? '/').split('?')[0]!;
    const file = files.get(path);
    if (file !== undefined) {
      response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS }).end(request.method === 'HEAD' ? undefined : file.body);
      return;
    }
    if (path === '/api/job' || path === '/api/metrics') {
      const body = JSON.stringify(path === '/api/job' ? routes.job() : routes.metrics());
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', ...SECURITY_HEADERS }).end(request.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/api/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', ...SECURITY_HEADERS });
      response.write('retry: 2000\n\n');
      streams.add(response);
      const off = routes.listen((event, data) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      request.on('close', () => {
        off();
        streams.delete(response);
      });
      return;
    }
    if (path === '/metrics') {
      const registry = routes.registry;
      if (registry === undefined) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('Prometheus metrics are off: run with --metrics-port to serve them here and there\n');
        return;
      }
      answerMetrics(registry, request, response);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not here: the dashboard is at /, its data at /api/job and /api/metrics\n');
  }

  server.keepAliveTimeout = 1000;
  const { port, host, origin } = await listen(server, options.port, bindHost, {
    what: 'the dashboard',
    inUse: `dashboard port ${options.port} is already in use — pick another with --ui <port>`,
    check: '--ui-host and --ui',
  });
  return {
    port,
    host,
    url: `${origin}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The page's files, read once: a few tens of KB. */
async function loadFiles(): Promise<Map<string, { type: string; body: Buffer }>> {
  const here = dirname(fileURLToPath(import.meta.url));
  const uplot = join(dirname(createRequire(import.meta.url).resolve('uplot')));
  const entries: Array<[string, string, string]> = [
    ...Object.entries(STATIC).map(([path, { file, type }]): [string, string, string] => [path, join(here, 'static', file), type]),
    ['/vendor/uPlot.iife.min.js', join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/vendor/uPlot.min.css', join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const [path, file, type] of entries) files.set(path, { type, body: await readFile(file) });
  return files;
}

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || /^127\./.test(address);
}

/** A Host header naming this machine's loopback (any port): localhost, 127.x.y.z, [::1]. */
function isLoopbackName(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return isLoopback(name.toLowerCase()) || name.toLowerCase().endsWith('.localhost');
}
