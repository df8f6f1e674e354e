import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Tracer } from '@opentelemetry/api';
import { describeError, InferenceTimeoutError } from '../../core/errors.ts';
import type { DynamicBatcher } from './dynamicBatcher.ts';
import { InvalidInferenceRequestError, ServiceClosingError, UnknownModelError } from './errors.ts';
import { readBody, sendEmpty, sendJson } from './httpBody.ts';
import { inferenceResponse, parseInferenceRequest } from './oipCodec.ts';
import type { ServedModel } from './resolveModel.ts';
import type { ServeMetrics } from './serveMetrics.ts';
import { endServerSpan, startServerSpan } from './serveTracing.ts';

/** Every response names the model version in this header; error bodies stay the protocol's `{"error"}`. */
export const VERSION_HEADER = 'x-model-version';
const MODEL_ROUTE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

/**
 * The HTTP endpoints of one model service: the Open Inference Protocol's health, metadata and
 * inference routes, and `/metrics`. Remembers the requests under way so a shutdown can answer
 * them before closing connections.
 *
 * @example
 * const routes = new ServiceRoutes(model, batcher, metrics, tracer, 8 * 1024 * 1024);
 * createServer((request, response) => routes.handle(request, response));
 */
export class ServiceRoutes {
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
      const { scores, batch } = await this.batcher.submit(parsed.features, parsed.rows, parsed.columns);
      // The service serves one fixed file, so its resolved version (a registry number or the
      // file's metadata) names what scored; the worker only knows the file.
      const version = this.model.version;
      span.setAttributes({ 'sluice.model.version': version, 'sluice.batch.rows': batch.rows, 'sluice.batch.requests': batch.requests });
      status = 200;
      sendJson(response, 200, inferenceResponse(this.model, version, scores, parsed.id), this.#headers);
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
