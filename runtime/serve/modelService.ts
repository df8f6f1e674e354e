import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Tracer } from '@opentelemetry/api';
import { describeError, requireNonNegativeNumber, requirePositiveInteger, SluiceError } from '../../core/errors.ts';
import type { InferenceService } from '../../core/inference.ts';
import { InferencePool } from '../inferencePool.ts';
import { DynamicBatcher, type BatchTimer } from './dynamicBatcher.ts';
import { resolveModel, type ServedModel } from './resolveModel.ts';
import { ServeMetrics } from './serveMetrics.ts';
import { ServiceRoutes } from './serviceRoutes.ts';
import { defaultServeTracer } from './serveTracing.ts';

export interface ModelServiceOptions {
  /** The model to serve: an .onnx file, a registry directory or a pinned `dir@N` (see resolveModel). */
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
  /** Requests waiting for their batch, and model calls under way. */
  queue(): { waiting: number; running: number };
  /** Stops taking requests, answers those under way, then stops the workers it started. */
  close(): Promise<void>;
}

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
  const model = await resolveModel(options.model, options.name);
  const maxBodyBytes = requirePositiveInteger('maxBodyBytes', options.maxBodyBytes ?? 8 * 1024 * 1024);
  const timeoutMs = requirePositiveInteger('timeoutMs', options.timeoutMs ?? 10_000);
  // Checked before any worker thread starts.
  const maxBatch = requirePositiveInteger('maxBatch', options.maxBatch ?? 256);
  const maxDelayMs = requireNonNegativeNumber('maxDelayMs', options.maxDelayMs ?? 2);
  const ownPool = options.pool === undefined ? new InferencePool({ workers: options.workers ?? 2 }) : undefined;
  const pool = options.pool ?? ownPool!;
  const tracer = options.tracer ?? defaultServeTracer();
  try {
    const handle = pool.model(model.path);
    await pool.ready?.();
    // The gauges are read at scrape time, when the batcher exists.
    const metrics = new ServeMetrics(model.name, { waiting: () => batcher.waiting, running: () => batcher.running, poolQueue: () => pool.queueSize ?? 0 });
    const batcher = new DynamicBatcher({
      maxBatch,
      maxDelayMs,
      ...(options.timer === undefined ? {} : { timer: options.timer }),
      score: (features, rows, columns) => handle.run({ features, rows, columns, timeoutMs }),
      onBatch: (batch) => metrics.observeBatch(batch),
    });
    const service = new ServiceRoutes(model, batcher, metrics, tracer, maxBodyBytes);
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
      queue: () => ({ waiting: batcher.waiting, running: batcher.running }),
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
