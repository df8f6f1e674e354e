/**
 * Free loopback TCP ports for test brokers.
 *
 * @example
 * ```ts
 * const [client, controller] = await freePorts(2);
 * ```
 */
import { createServer, type Server } from 'node:net';

/**
 * `count` distinct ports that were free a moment ago: all are held open together while picked,
 * so none is handed out twice; another process may still take one before the broker binds it.
 *
 * @example
 * ```ts
 * const ports = await freePorts(3);
 * ```
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
