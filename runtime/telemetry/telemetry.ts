import type { RunningJob } from '../../core/engine/engine.ts';
import { Instrumentation } from '../../core/instrumentation.ts';
import type { Source } from '../../core/job.ts';
import { JobMetrics, type PoolGauges } from './jobMetrics.ts';
import { startMetricsServer, type MetricsServer } from './metricsServer.ts';
import { EnrichTracing } from './enrichTracing.ts';
import { driftSpanAttributes } from './modelMetrics.ts';
import { RecordTracing } from './recordTracing.ts';
import { samplesNothing, samplingPolicy, type SamplingPolicy } from './sampling.ts';
import { maxQueueSize, type SpanCounts, type SpanDropReason } from './spanQueue.ts';
import type { TracerSdk } from './tracerSdk.ts';

export interface TelemetryOptions {
  /** The job's name: the default OpenTelemetry service name and the `sluice_job` label. */
  jobName: string;
  /** `--trace-sample`: share of records traced; overrides OTEL_TRACES_SAMPLER(_ARG). 0 is off. */
  traceSample?: number | undefined;
  /** `--metrics-port`: serve `/metrics` there (0 picks a free port); no metrics when absent. */
  metricsPort?: number | undefined;
  /**
   * Keep metrics without serving them (no port): a stream thread's, which the main thread asks
   * for and serves merged. Process-wide metrics (CPU, memory) are left to the main thread.
   */
  collectMetrics?: boolean | undefined;
  /**
   * `--metrics-host`: the address `/metrics` listens on. Default `127.0.0.1` (this machine
   * only); `0.0.0.0` (or `::`) serves every interface, for a Prometheus on another host.
   */
  metricsHost?: string | undefined;
  /**
   * Whether spans carry the record key (`sluice.key`). Default true; turn it off when keys
   * are personal data (user ids, card numbers) that must not reach the trace backend.
   */
  keysInSpans?: boolean | undefined;
  /** The inference pool, for its utilisation and queue gauges. */
  pool?: PoolGauges | undefined;
  /** Defaults to process.env; the OpenTelemetry SDK itself always reads process.env. */
  env?: NodeJS.ProcessEnv;
  /** How long stop() waits for the last spans to be exported. */
  flushTimeoutMs?: number;
  /** Where warnings go (one line each, no newline). Default: stderr, prefixed `sluice: `. */
  warn?: (message: string) => void;
}

/** Tracing and metrics around one running job. */
export interface Telemetry {
  /** The bus to hand to `runJob` (EngineOptions.instrumentation), already listened to. */
  readonly instrumentation: Instrumentation;
  /** The sampling policy, when tracing is on. */
  readonly sampling: SamplingPolicy | undefined;
  readonly metrics: JobMetrics | undefined;
  readonly metricsServer: MetricsServer | undefined;
  /** Spans ended, exported and dropped so far (undefined when tracing is off). */
  readonly spans: SpanCounts | undefined;
  /** The job's sources with per-record sampling in front (the sources themselves when tracing is off). */
  instrumentSources(sources: Record<string, Source<unknown>>): Record<string, Source<unknown>>;
  /** Lets the metrics read the engine's counters. */
  attach(running: RunningJob): void;
  /** One line per part that is on, for the start-up banner. */
  describe(): string[];
  /** Ends open spans, exports the rest, closes the metrics server. */
  stop(): Promise<void>;
}

/**
 * Sets up what the command line and the standard OTEL_* variables ask for. Tracing is on when
 * an exporter is configured (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
 * OTEL_TRACES_EXPORTER or OTEL_TRACES_SAMPLER) or `--trace-sample` is given, and off when
 * OTEL_SDK_DISABLED=true or the sampler can sample nothing. Metrics are on with a port.
 *
 * @example
 * const telemetry = await startTelemetry({ jobName: job.name, traceSample: 0.01, metricsPort: 9464, pool });
 * const running = runJob(job, { ...options, sources: telemetry.instrumentSources(sources), instrumentation: telemetry.instrumentation });
 * telemetry.attach(running);
 * await running.done;
 * await telemetry.stop();
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const warn = options.warn ?? ((line: string) => process.stderr.write(`sluice: ${line}\n`));
  const instrumentation = new Instrumentation();
  const sampling = tracingWanted(options, env) ? samplingPolicy({ traceSample: options.traceSample, env }) : undefined;
  const tracingOn = sampling !== undefined && !samplesNothing(sampling);

  let sdk: TracerSdk | undefined;
  let tracing: RecordTracing | undefined;
  if (tracingOn) {
    // Loaded only when tracing is on: the SDK takes a few hundred ms to import.
    const { startTracerSdk } = await import('./tracerSdk.ts');
    const warned = new Set<SpanDropReason>();
    const onDrop = (reason: SpanDropReason, spans: number) => {
      // One line the first time, not one per span: the metric counts the rest.
      if (warned.has(reason)) return;
      warned.add(reason);
      warn(dropWarning(reason, spans, env, sdk?.destination ?? 'the trace backend'));
    };
    sdk = await startTracerSdk({ serviceName: env.OTEL_SERVICE_NAME ?? options.jobName, env, onDrop });
    tracing = new RecordTracing(sdk.tracer, sampling, { keysInSpans: options.keysInSpans ?? true });
    tracing.subscribe(instrumentation);
    new EnrichTracing(sdk.tracer).subscribe(instrumentation);
    // One span per drift window, its PSI and KS per column as attributes (docs/monitoring.md).
    const tracer = sdk.tracer;
    instrumentation.on('drift.window', (event) => tracer.startSpan(`drift ${event.model}`, { startTime: event.start, attributes: driftSpanAttributes(event) }).end(event.end));
  }

  let metrics: JobMetrics | undefined;
  let metricsServer: MetricsServer | undefined;
  if (options.metricsPort !== undefined || options.collectMetrics === true) {
    metrics = new JobMetrics({ jobName: options.jobName, pool: options.pool, defaultMetrics: options.metricsPort !== undefined });
    metrics.subscribe(instrumentation);
    if (tracing !== undefined) {
      const traced = tracing;
      metrics.countTraced(() => traced.sampled);
    }
    if (sdk !== undefined) {
      const spans = sdk.spans;
      metrics.countDroppedSpans(() => spans.dropped);
    }
    try {
      if (options.metricsPort !== undefined) metricsServer = await startMetricsServer(metrics.registry, { port: options.metricsPort, host: options.metricsHost });
    } catch (error) {
      await sdk?.shutdown();
      throw error;
    }
  }

  return {
    instrumentation,
    sampling: tracingOn ? sampling : undefined,
    metrics,
    metricsServer,
    get spans() {
      return sdk?.spans;
    },
    instrumentSources: (sources) => (tracing === undefined ? sources : Object.fromEntries(Object.entries(sources).map(([name, source]) => [name, tracing.traceSource(source)]))),
    attach: (running) => metrics?.attach(() => running.stats()),
    describe: () => {
      const lines: string[] = [];
      if (sdk !== undefined && sampling !== undefined) lines.push(`tracing: ${describePolicy(sampling)} → ${sdk.destination}`);
      if (metricsServer !== undefined) lines.push(`metrics: ${metricsServer.url}`);
      return lines;
    },
    stop: async () => {
      tracing?.endOpenSpans();
      if (sdk !== undefined) {
        const flushTimeoutMs = options.flushTimeoutMs ?? 5000;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), flushTimeoutMs);
        });
        const outcome = await Promise.race([sdk.shutdown().then(() => 'flushed' as const, () => 'failed' as const), timedOut]);
        clearTimeout(timer);
        if (outcome !== 'flushed') warn(`tracing: the last spans could not be exported to ${sdk.destination} (${outcome === 'timeout' ? `no answer within ${flushTimeoutMs} ms` : 'export failed'})`);
        const { created, dropped } = sdk.spans;
        const lost = dropped.queue_full + dropped.export_failed;
        if (lost > 0) warn(`tracing: ${lost} of ${created} spans were dropped (${dropped.queue_full} by the full export queue, ${dropped.export_failed} by failed exports)`);
      }
      await metricsServer?.close();
    },
  };
}

/**
 * Whether records will be traced: `--trace-sample`, or an OTEL_* variable naming an endpoint,
 * exporter or sampler, unless OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none turn it off.
 *
 * @example
 * tracingWanted({ traceSample: 0.01 }, process.env) // true
 */
export function tracingWanted(options: Pick<TelemetryOptions, 'traceSample'>, env: NodeJS.ProcessEnv): boolean {
  if (/^\s*true\s*$/i.test(env.OTEL_SDK_DISABLED ?? '')) return false;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters === 'none') return false;
  if (options.traceSample !== undefined) return true;
  return [env.OTEL_EXPORTER_OTLP_ENDPOINT, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, exporters, env.OTEL_TRACES_SAMPLER].some((v) => v !== undefined && v.trim() !== '');
}

function dropWarning(reason: SpanDropReason, spans: number, env: NodeJS.ProcessEnv, destination: string): string {
  if (reason === 'queue_full') {
    return `tracing: the span export queue is full (OTEL_BSP_MAX_QUEUE_SIZE=${maxQueueSize(env)}), spans are being dropped — lower the sample rate (--trace-sample) or raise OTEL_BSP_MAX_QUEUE_SIZE; sluice_trace_spans_dropped_total counts them`;
  }
  return `tracing: ${spans} spans could not be exported to ${destination} — is the collector reachable? sluice_trace_spans_dropped_total counts lost spans`;
}

function describePolicy(policy: SamplingPolicy): string {
  const share = policy.ratio >= 1 ? 'every record' : `${+(policy.ratio * 100).toPrecision(3)} % of records`;
  return policy.parentBased ? `${share} (or as the upstream traceparent says)` : share;
}
