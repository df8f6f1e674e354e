import { context, ROOT_CONTEXT, trace, type Context, type ContextManager, type Tracer } from '@opentelemetry/api';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { InvalidOptionError } from '../../core/errors.ts';
import { redactHeaders, redactUrl } from '../../core/redact.ts';
import { CountedSpanQueue, maxQueueSize, spanCounts, type SpanCounts, type SpanDropReason } from './spanQueue.ts';

/** What tracing needs from the OpenTelemetry SDK. */
export interface TracerSdk {
  readonly tracer: Tracer;
  /** Where spans go, for the start-up line; credentials hidden. */
  readonly destination: string;
  /** Spans ended, exported and dropped so far. */
  readonly spans: SpanCounts;
  /** Exports what is buffered and stops the SDK. */
  shutdown(): Promise<void>;
}

export interface TracerSdkOptions {
  serviceName: string;
  env?: NodeJS.ProcessEnv;
  /** Called for every loss of spans (export queue full, export failed), with how many. */
  onDrop?: (reason: SpanDropReason, spans: number) => void;
}

const EXPORTERS = ['otlp', 'console', 'zipkin'] as const;

/**
 * Starts `@opentelemetry/sdk-node` configured by the standard `OTEL_*` variables (exporter,
 * OTLP endpoint, protocol, headers, resource attributes, batch processor limits) with the
 * service name defaulting to the job's.
 *
 * Sluice decides sampling itself, per record at the source, so the SDK's sampler is always-on
 * for the spans Sluice does create. Spans are parented explicitly, never through the active
 * context, so no async-hooks context manager is installed (it would tax every promise). The
 * span processors are Sluice's own {@link CountedSpanQueue}s, so spans lost to a full export
 * queue are counted instead of vanishing.
 *
 * @example
 * const sdk = await startTracerSdk({ serviceName: 'fraud-detection', onDrop: (reason, n) => dropped += n });
 * sdk.tracer.startSpan('consume').end();
 * await sdk.shutdown();
 */
export async function startTracerSdk(options: TracerSdkOptions): Promise<TracerSdk> {
  const env = options.env ?? process.env;
  const serviceNameSet = env.OTEL_SERVICE_NAME !== undefined || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const counts = spanCounts();
  const limit = maxQueueSize(env);
  const onDrop = options.onDrop ?? (() => {});
  const spanProcessors = (await exportersFrom(env)).map((exporter, i) =>
    exporter instanceof tracing.ConsoleSpanExporter
      ? new tracing.SimpleSpanProcessor(exporter)
      : new CountedSpanQueue(exporter, { maxQueueSize: limit, counts, countsCreated: i === 0, onDrop }),
  );
  const sdk = new NodeSDK({
    ...(serviceNameSet ? {} : { serviceName: options.serviceName }),
    sampler: new tracing.AlwaysOnSampler(),
    contextManager: new ExplicitContextManager(),
    textMapPropagator: null,
    spanProcessors,
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return {
    tracer: trace.getTracer('sluice'),
    destination: describeDestination(env),
    spans: counts,
    async shutdown() {
      try {
        await sdk.shutdown();
      } finally {
        // Leave the global API clean, so a later job in the same process can start its own.
        trace.disable();
        context.disable();
      }
    },
  };
}

/** The exporters OTEL_TRACES_EXPORTER names; each module is loaded only when asked for. */
async function exportersFrom(env: NodeJS.ProcessEnv): Promise<tracing.SpanExporter[]> {
  const names = [...new Set((env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim()).filter((name) => name !== ''))];
  const unknown = names.filter((name) => !(EXPORTERS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new InvalidOptionError(`OTEL_TRACES_EXPORTER=${unknown.join(',')} is not supported by Sluice — use ${EXPORTERS.join(', ')} or none`);
  const exporters: tracing.SpanExporter[] = [];
  for (const name of names.length === 0 ? ['otlp'] : names) {
    if (name === 'console') exporters.push(new tracing.ConsoleSpanExporter());
    else if (name === 'zipkin') exporters.push(new (await import('@opentelemetry/exporter-zipkin')).ZipkinExporter());
    else exporters.push(await otlpExporter(otlpProtocol(env)));
  }
  return exporters;
}

async function otlpExporter(protocol: string): Promise<tracing.SpanExporter> {
  if (protocol === 'grpc') return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter();
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  if (protocol === 'http/protobuf') return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  throw new InvalidOptionError(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported — use http/protobuf, http/json or grpc`);
}

function otlpProtocol(env: NodeJS.ProcessEnv): string {
  return (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
}

/** Where spans go, with any password in the URL and every header value hidden. */
function describeDestination(env: NodeJS.ProcessEnv): string {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (!exporters.includes('otlp')) return exporters.join(', ') || 'otlp';
  const protocol = otlpProtocol(env);
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? (protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318')).replace(/\/$/, '')}${protocol === 'grpc' ? '' : '/v1/traces'}`;
  const headers = [env.OTEL_EXPORTER_OTLP_HEADERS, env.OTEL_EXPORTER_OTLP_TRACES_HEADERS].filter((h) => h !== undefined && h.trim() !== '').map((h) => redactHeaders(h!)).join(',');
  return `${redactUrl(url)} (otlp ${protocol}${headers === '' ? '' : `, headers ${headers}`})`;
}

/** A context manager with no ambient context: every span Sluice starts names its parent. */
class ExplicitContextManager implements ContextManager {
  active(): Context {
    return ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(_context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return fn.call(thisArg, ...args);
  }

  bind<T>(_context: Context, target: T): T {
    return target;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    return this;
  }
}
