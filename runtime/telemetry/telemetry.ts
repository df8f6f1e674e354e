import type { RunningJob } from '../../core/engine.ts';
import { Instrumentation } from '../../core/instrumentation.ts';
import type { JobDefinition } from '../../core/job.ts';
import { JobMetrics, type PoolGauges } from './jobMetrics.ts';
import { startMetricsServer, type MetricsServer } from './metricsServer.ts';
import { RecordTracing } from './recordTracing.ts';
import { samplesNothing, samplingPolicy, type SamplingPolicy } from './sampling.ts';
import type { TracerSdk } from './tracerSdk.ts';

export interface TelemetryOptions {
  /** The job's name: the default OpenTelemetry service name and the `sluice_job` label. */
  jobName: string;
  /** `--trace-sample`: share of records traced; overrides OTEL_TRACES_SAMPLER(_ARG). 0 is off. */
  traceSample?: number | undefined;
  /** `--metrics-port`: serve `/metrics` there (0 picks a free port); no metrics when absent. */
  metricsPort?: number | undefined;
  metricsHost?: string;
  /** The inference pool, for its utilisation and queue gauges. */
  pool?: PoolGauges | undefined;
  /** Defaults to process.env; the OpenTelemetry SDK itself always reads process.env. */
  env?: NodeJS.ProcessEnv;
  /** How long stop() waits for the last spans to be exported. */
  flushTimeoutMs?: number;
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
  /** The job with per-record sampling in front of its source (the job itself when tracing is off). */
  instrumentJob<In, Out>(job: JobDefinition<In, Out>): JobDefinition<In, Out>;
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
 * const running = runJob(telemetry.instrumentJob(job), { ...options, instrumentation: telemetry.instrumentation });
 * telemetry.attach(running);
 * await running.done;
 * await telemetry.stop();
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const instrumentation = new Instrumentation();
  const sampling = tracingWanted(options, env) ? samplingPolicy({ traceSample: options.traceSample, env }) : undefined;
  const tracingOn = sampling !== undefined && !samplesNothing(sampling);

  let sdk: TracerSdk | undefined;
  let tracing: RecordTracing | undefined;
  if (tracingOn) {
    // Loaded only when tracing is on: the SDK takes a few hundred ms to import.
    const { startTracerSdk } = await import('./tracerSdk.ts');
    sdk = startTracerSdk({ serviceName: env.OTEL_SERVICE_NAME ?? options.jobName, env });
    tracing = new RecordTracing(sdk.tracer, sampling);
    tracing.subscribe(instrumentation);
  }

  let metrics: JobMetrics | undefined;
  let metricsServer: MetricsServer | undefined;
  if (options.metricsPort !== undefined) {
    metrics = new JobMetrics({ jobName: options.jobName, pool: options.pool });
    metrics.subscribe(instrumentation);
    if (tracing !== undefined) {
      const traced = tracing;
      metrics.countTraced(() => traced.sampled);
    }
    try {
      metricsServer = await startMetricsServer(metrics.registry, { port: options.metricsPort, ...(options.metricsHost === undefined ? {} : { host: options.metricsHost }) });
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
    instrumentJob: (job) => (tracing === undefined ? job : { ...job, source: (runEnv) => tracing.traceSource(job.source(runEnv)) }),
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
        if (outcome !== 'flushed') options.warn?.(`tracing: the last spans could not be exported to ${sdk.destination} (${outcome === 'timeout' ? `no answer within ${flushTimeoutMs} ms` : 'export failed'})`);
      }
      await metricsServer?.close();
    },
  };
}

function tracingWanted(options: TelemetryOptions, env: NodeJS.ProcessEnv): boolean {
  if (/^\s*true\s*$/i.test(env.OTEL_SDK_DISABLED ?? '')) return false;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters === 'none') return false;
  if (options.traceSample !== undefined) return true;
  return [env.OTEL_EXPORTER_OTLP_ENDPOINT, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, exporters, env.OTEL_TRACES_SAMPLER].some((v) => v !== undefined && v.trim() !== '');
}

function describePolicy(policy: SamplingPolicy): string {
  const share = policy.ratio >= 1 ? 'every record' : `${+(policy.ratio * 100).toPrecision(3)} % of records`;
  return policy.parentBased ? `${share} (or as the upstream traceparent says)` : share;
}
