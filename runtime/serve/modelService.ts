import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Tracer } from '@opentelemetry/api';
import { describeError, InferenceTimeoutError, requirePositiveInteger, SluiceError } from '../../core/errors.ts';
import type { InferenceService } from '../../core/inference.ts';
import { InferencePool } from '../inferencePool.ts';
import { DynamicBatcher, type BatchTimer } from './dynamicBatcher.ts';
import { InvalidInferenceRequestError, ServiceClosingError, UnknownModelError } from './errors.ts';
import { readBody, sendEmpty, sendJson } from './httpBody.ts';
import { inferenceResponse, parseInferenceRequest } from './oipCodec.ts';
import { resolveModel, type ServedModel } from './resolveModel.ts';
import { ServeMetrics } from './serveMetrics.ts';
import { defaultServeTracer, endServerSpan, startServerSpan } from './serveTracing.ts';

export interface ModelServiceOptions {
  /** The model to serve: an .onnx file (see resolveModel). */
  model: string;
  /** The name in the URL; defaults to the file name without `.onnx`. */
  name?: string;
  /** Default 8500; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (this machine only); 0.0.0.0 to serve the network. */
  host?: string;
  /** Inference worker threads (default 2); ignored when `pool` is given. */
  workers?: number;
  /** Rows in one model call at most (default 256). */
  maxBatch?: number;
  /** How long a request waits for others to share its model call (default 2 ms). */
  maxDelayMs?: number;
  /** Largest request body accepted (default 8 MiB). */
  maxBodyBytes?: number;
  /** A model call that takes longer is answered 503 (default 10 000 ms). */
  timeoutMs?: number;
  /** Score on this pool instead of starting one; the caller closes it. */
  pool?: InferenceService & { readonly queueSize?: number };
  /** Default: the global OpenTelemetry tracer (a no-op until an SDK is started). */
  tracer?: Tracer;
  /** The batcher's timer; tests pass a manual one. */
  timer?: BatchTimer;
}

/** A running model service. */
export interface ModelService {
  /** e.g. http://127.0.0.1:8500 */
  readonly url: string;
  readonly port: number;
  readonly model: ServedModel;
  /** Stops taking requests, answers those under way, then stops the workers it started. */
  close(): Promise<void>;
}

const VERSION_HEADER = 'x-model-version';
const MODEL_ROUTE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

/**
 * Serves one ONNX model over the Open Inference Protocol (KServe/Triton "v2" REST), scored on
 * an InferencePool with server-side dynamic batching, with Prometheus metrics at `/metrics`
 * and a server span per inference that continues the caller's W3C trace.
 *
 * @example
 * const service = await startModelService({ model: 'models/fraud-v1.onnx', port: 0 });
 * await fetch(`${service.url}/v2/models/fraud-v1/infer`, { method: 'POST', body: JSON.stringify({ inputs: [...] }) });
 * await service.close();
 */
export async function startModelService(options: ModelServiceOptions): Promise<ModelService> {
  const model = resolveModel(options.model, options.name);
  const maxBodyBytes = requirePositiveInteger('maxBodyBytes', options.maxBodyBytes ?? 8 * 1024 * 1024);
  const timeoutMs = requirePositiveInteger('timeoutMs', options.timeoutMs ?? 10_000);
  const ownPool = options.pool === undefined ? new InferencePool({ workers: options.workers ?? 2 }) : undefined;
  const pool = options.pool ?? ownPool!;
  const tracer = options.tracer ?? defaultServeTracer();
  try {
    const handle = pool.model(model.path);
    await pool.ready?.();
    const batcher: DynamicBatcher = new DynamicBatcher({
      maxBatch: options.maxBatch ?? 256,
      maxDelayMs: options.maxDelayMs ?? 2,
      ...(options.timer === undefined ? {} : { timer: options.timer }),
      score: (features, rows, columns) => handle.run({ features, rows, columns, timeoutMs }),
      onBatch: (batch) => metrics.observeBatch(batch),
    });
    const metrics = new ServeMetrics(model.name, { waiting: () => batcher.waiting, running: () => batcher.running, poolQueue: () => pool.queueSize ?? 0 });
    const service = new Service(model, batcher, metrics, tracer, maxBodyBytes);
    const server = createServer((request, response) => service.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new SluiceError(error.code === 'EADDRINUSE' ? `port ${options.port ?? 8500} is already in use — pick another with --port` : `cannot serve on port ${options.port ?? 8500}: ${describeError(error)}`, { cause: error })),
      );
      server.listen(options.port ?? 8500, options.host ?? '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const host = options.host === undefined || options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      port,
      model,
      close: () =>
        (closing ??= (async () => {
          service.closing = true;
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          await batcher.drain();
          await service.settled();
          server.closeAllConnections();
          await closed;
          await ownPool?.close();
        })()),
    };
  } catch (error) {
    await ownPool?.close();
    throw error;
  }
}

/** The request handlers of one service. */
class Service {
  closing = false;
  readonly #handling = new Set<Promise<void>>();
  readonly #headers: Record<string, string>;

  constructor(
    readonly model: ServedModel,
    readonly batcher: DynamicBatcher,
    readonly metrics: ServeMetrics,
    readonly tracer: Tracer,
    readonly maxBodyBytes: number,
  ) {
    this.#headers = { [VERSION_HEADER]: model.version };
  }

  /** Resolves when every request taken so far has been answered. */
  async settled(): Promise<void> {
    while (this.#handling.size > 0) await Promise.allSettled([...this.#handling]);
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    const started = performance.now();
    const path = (request.url ?? '/').split('?')[0]!;
    const route = MODEL_ROUTE.exec(path);
    const endpoint = route === null ? (path.startsWith('/v2/health') ? 'health' : path === '/metrics' ? 'metrics' : path === '/v2' ? 'server_metadata' : 'other') : route[3] === '/infer' ? 'infer' : route[3] === '/ready' ? 'model_ready' : 'model_metadata';
    response.once('finish', () => this.metrics.observeRequest(endpoint, response.statusCode, (performance.now() - started) / 1000));
    const handling = this.#route(request, response, path, route).catch((error: unknown) => {
      if (!response.headersSent) this.#error(response, error);
      else response.destroy();
    });
    this.#handling.add(handling);
    void handling.finally(() => this.#handling.delete(handling));
  }

  async #route(request: IncomingMessage, response: ServerResponse, path: string, route: RegExpExecArray | null): Promise<void> {
    const method = request.method ?? 'GET';
    if (this.closing) throw new ServiceClosingError();
    if (route !== null && route[3] === '/infer') {
      if (method !== 'POST') return this.#notAllowed(request, response, 'POST');
      return this.#infer(request, response, path, route);
    }
    if (method !== 'GET' && method !== 'HEAD') return this.#notAllowed(request, response, 'GET');
    request.resume();
    if (path === '/v2/health/live' || path === '/v2/health/ready') return sendEmpty(response, 200, this.#headers);
    if (path === '/v2') return sendJson(response, 200, { name: 'sluice', version: '0.1.0', extensions: [] }, this.#headers);
    if (path === '/metrics') {
      const text = await this.metrics.registry.metrics();
      response.writeHead(200, { ...this.#headers, 'content-type': this.metrics.registry.contentType }).end(text);
      return;
    }
    if (route === null) throw new UnknownModelError(`no endpoint ${path} — this is an Open Inference Protocol v2 service: try GET /v2/models/${this.model.name}`);
    this.#checkModel(route);
    if (route[3] === '/ready') return sendEmpty(response, 200, this.#headers);
    const { name, input, output } = this.model;
    return sendJson(response, 200, { name, versions: [this.model.version], platform: 'onnxruntime_onnx', inputs: [input], outputs: [output] }, this.#headers);
  }

  async #infer(request: IncomingMessage, response: ServerResponse, path: string, route: RegExpExecArray): Promise<void> {
    const span = startServerSpan(this.tracer, `POST /v2/models/{model_name}${route[2] === undefined ? '' : '/versions/{model_version}'}/infer`, request.headers, {
      'http.request.method': 'POST',
      'url.path': path,
      'sluice.model.name': this.model.name,
    });
    let status = 500;
    let message: string | undefined;
    try {
      this.#checkModel(route);
      const parsed = parseInferenceRequest(await readBody(request, this.maxBodyBytes), this.model);
      span.setAttribute('sluice.request.rows', parsed.rows);
      const { scores, modelVersion, batch } = await this.batcher.submit(parsed.features, parsed.rows, parsed.columns);
      span.setAttributes({ 'sluice.model.version': modelVersion, 'sluice.batch.rows': batch.rows, 'sluice.batch.requests': batch.requests });
      status = 200;
      sendJson(response, 200, inferenceResponse(this.model, modelVersion, scores, parsed.id), { [VERSION_HEADER]: modelVersion });
    } catch (error) {
      status = this.#error(response, error);
      message = describeError(error);
    } finally {
      endServerSpan(span, status, message);
    }
  }

  /** A model name or version this service does not serve is a 404. */
  #checkModel(route: RegExpExecArray): void {
    const name = decodeURIComponent(route[1]!);
    if (name !== this.model.name) throw new UnknownModelError(`unknown model "${name}" — this service serves "${this.model.name}"`);
    const version = route[2] === undefined ? undefined : decodeURIComponent(route[2]);
    if (version !== undefined && version !== this.model.version) throw new UnknownModelError(`model "${name}" has no version "${version}" — this service serves version "${this.model.version}"`);
  }

  #notAllowed(request: IncomingMessage, response: ServerResponse, allow: string): void {
    request.resume();
    sendJson(response, 405, { error: `${request.method ?? ''} is not allowed here — use ${allow}` }, { ...this.#headers, allow });
  }

  /** Answers an error with the protocol's `{"error": "..."}` body; returns the status sent. */
  #error(response: ServerResponse, error: unknown): number {
    const status = error instanceof InvalidInferenceRequestError ? error.status : error instanceof ServiceClosingError || error instanceof InferenceTimeoutError ? 503 : 500;
    // After a refused body or during shutdown the connection is not reused.
    sendJson(response, status, { error: describeError(error).split('\n')[0] }, this.#headers, status === 413 || this.closing);
    return status;
  }
}
