import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInferenceRequestError } from './errors.ts';

/**
 * Reads a request body up to `limit` bytes. A larger body is refused with a 413 as soon as its
 * Content-Length (or the bytes read so far) says so; the rest is read and dropped so the caller
 * gets the answer instead of a reset connection.
 *
 * @example
 * const body = await readBody(request, 8 * 1024 * 1024);
 */
export function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () => new InvalidInferenceRequestError(`request body is larger than ${formatBytes(limit)} — send fewer rows per request`, 413);
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    drop(request);
    return Promise.reject(tooLarge());
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.off('data', onData);
        drop(request);
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Reads and discards the rest of a body; a sender that goes on for long is cut off. */
function drop(request: IncomingMessage): void {
  let dropped = 0;
  request.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > 256 * 1024 * 1024) request.destroy();
  });
  request.resume();
}

/**
 * Writes a JSON answer. `close` asks the client to open a new connection next time (after a
 * refused body, or while the service shuts down).
 *
 * @example
 * sendJson(response, 400, { error: 'input tensor "features" is missing' }, { 'x-model-version': 'fraud-v1' });
 */
export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string>, close = false): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  response.end(text);
}

/** An empty answer (the protocol's health endpoints). */
export function sendEmpty(response: ServerResponse, status: number, headers: Record<string, string>): void {
  response.writeHead(status, { ...headers, 'content-length': 0 }).end();
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
