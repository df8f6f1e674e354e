import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read from the running service when scraped. */
export interface ServeGauges {
  /** Requests waiting for their batch to leave. */
  waiting(): number;
  /** Model calls under way. */
  running(): number;
  /** Batches waiting for a free worker thread. */
  poolQueue(): number;
}

/**
 * The model service's Prometheus metrics, in a registry of its own (a job's metrics in the same
 * process stay apart): requests by endpoint and status, request latency, rows and requests per
 * model call, and the queue.
 *
 * @example
 * const metrics = new ServeMetrics('fraud-v1', gauges);
 * metrics.observeRequest('infer', 200, 0.004);
 * await metrics.registry.metrics();
 */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'endpoint' | 'status'>;
  readonly #latency: Histogram<'endpoint'>;
  readonly #batchRows: Histogram;
  readonly #batchRequests: Histogram;

  constructor(model: string, gauges: ServeGauges) {
    this.registry.setDefaultLabels({ model });
    const registers = [this.registry];
    this.#requests = new Counter({ name: 'sluice_serve_requests_total', help: 'HTTP requests answered, by endpoint and status code', labelNames: ['endpoint', 'status'], registers });
    this.#latency = new Histogram({
      name: 'sluice_serve_request_duration_seconds',
      help: 'time from a request arriving to its answer being written, by endpoint',
      labelNames: ['endpoint'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#batchRows = new Histogram({ name: 'sluice_serve_batch_rows', help: 'rows scored per model call (dynamic batching)', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096], registers });
    this.#batchRequests = new Histogram({ name: 'sluice_serve_batch_requests', help: 'inference requests merged into one model call', buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers });
    new Gauge({
      name: 'sluice_serve_queue_depth',
      help: 'inference requests waiting: for their batch to leave (stage=batch) or for a worker thread (stage=pool, in batches)',
      labelNames: ['stage'],
      registers,
      collect() {
        this.set({ stage: 'batch' }, gauges.waiting());
        this.set({ stage: 'pool' }, gauges.poolQueue());
      },
    });
    new Gauge({ name: 'sluice_serve_model_calls_in_flight', help: 'model calls under way', registers, collect() { this.set(gauges.running()); } });
  }

  observeRequest(endpoint: string, status: number, seconds: number): void {
    this.#requests.inc({ endpoint, status: String(status) });
    this.#latency.observe({ endpoint }, seconds);
  }

  observeBatch(batch: { rows: number; requests: number }): void {
    this.#batchRows.observe(batch.rows);
    this.#batchRequests.observe(batch.requests);
  }
}
