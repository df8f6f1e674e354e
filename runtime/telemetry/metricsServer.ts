import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { describeError, SluiceError } from '../../core/errors.ts';

/** A running `/metrics` endpoint. */
export interface MetricsServer {
  /** The port it listens on (useful when asked for port 0). */
  readonly port: number;
  /** The address it is bound to, as the socket reports it (`127.0.0.1`, `0.0.0.0`, `::`). */
  readonly host: string;
  /** `http://<bound address>:<port>/metrics`, for the start-up line. */
  readonly url: string;
  close(): Promise<void>;
}

/** Where `/metrics` listens unless told otherwise: this machine only. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/**
 * Serves a registry in the Prometheus text format at `GET /metrics`. Binds 127.0.0.1 unless
 * `host` says otherwise: metrics name topics, models and keys' partitions, and are nobody
 * else's business until the operator opens them up (`host: '0.0.0.0'`).
 *
 * @example
 * const server = await startMetricsServer(metrics.registry, { port: 9464 });
 * // curl http://127.0.0.1:9464/metrics
 * await server.close();
 */
export async function startMetricsServer(registry: Pick<Registry, 'metrics' | 'contentType'>, options: { port: number; host?: string | undefined }): Promise<MetricsServer> {
  const bindHost = options.host === undefined || options.host.trim() === '' ? DEFAULT_METRICS_HOST : options.host.trim();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Sluice serves Prometheus metrics at /metrics\n');
      return;
    }
    answerMetrics(registry, request, response);
  });
  // Scrapes hold no keep-alive sockets that would delay close().
  server.keepAliveTimeout = 1000;
  const { port, host, origin } = await listen(server, options.port, bindHost, {
    what: 'metrics',
    inUse: `metrics port ${options.port} is already in use — pick another with --metrics-port`,
    check: '--metrics-host and --metrics-port',
  });
  // The address the socket really has, not a friendlier name: "0.0.0.0" tells the reader
  // that every interface is open.
  return {
    port,
    host,
    url: `${origin}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Answers a scrape with the registry in Prometheus' text format (a HEAD gets the headers only).
 *
 * @example
 * if (path === '/metrics') return answerMetrics(registry, request, response);
 */
export function answerMetrics(registry: Pick<Registry, 'metrics' | 'contentType'>, request: IncomingMessage, response: ServerResponse): void {
  registry.metrics().then(
    (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
    (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${describeError(error)}\n`),
  );
}

/**
 * Starts `server` on `host:port` and says where it really listens: the address the socket has,
 * not a friendlier name ("0.0.0.0" tells the reader that every interface is open). A port in use
 * or an address that cannot be bound is one line that names the flags to change.
 *
 * @example
 * const { origin } = await listen(server, 9464, '127.0.0.1', { what: 'metrics', inUse: 'metrics port 9464 is already in use', check: '--metrics-port' });
 */
export async function listen(server: Server, port: number, host: string, say: { what: string; inUse: string; check: string }): Promise<{ port: number; host: string; origin: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const message = error.code === 'EADDRINUSE' ? say.inUse : `cannot serve ${say.what} on ${host} port ${port}: ${describeError(error)} — check ${say.check}`;
      reject(new SluiceError(message, { cause: error }));
    });
    server.listen(port, host, () => resolve());
  });
  const { port: bound, address, family } = server.address() as AddressInfo;
  return { port: bound, host: address, origin: `http://${family === 'IPv6' ? `[${address}]` : address}:${bound}` };
}
