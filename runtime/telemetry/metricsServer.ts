import { createServer, type Server } from 'node:http';
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
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${describeError(error)}\n`),
    );
  });
  // Scrapes hold no keep-alive sockets that would delay close().
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new SluiceError(
          error.code === 'EADDRINUSE'
            ? `metrics port ${options.port} is already in use — pick another with --metrics-port`
            : `cannot serve metrics on ${bindHost} port ${options.port}: ${describeError(error)} — check --metrics-host and --metrics-port`,
          { cause: error },
        ),
      );
    });
    server.listen(options.port, bindHost, () => resolve());
  });
  const { port, address, family } = server.address() as AddressInfo;
  // The address the socket really has, not a friendlier name: "0.0.0.0" tells the reader
  // that every interface is open.
  return {
    port,
    host: address,
    url: `http://${family === 'IPv6' ? `[${address}]` : address}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
