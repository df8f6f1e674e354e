import { context, ROOT_CONTEXT, trace, type Context, type ContextManager, type Tracer } from '@opentelemetry/api';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';

/** What tracing needs from the OpenTelemetry SDK. */
export interface TracerSdk {
  readonly tracer: Tracer;
  /** Where spans go, for the start-up line. */
  readonly destination: string;
  /** Exports what is buffered and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts `@opentelemetry/sdk-node` configured by the standard `OTEL_*` variables (exporter,
 * OTLP endpoint, protocol, headers, resource attributes, batch processor limits) with the
 * service name defaulting to the job's.
 *
 * Sluice decides sampling itself, per record at the source, so the SDK's sampler is always-on
 * for the spans Sluice does create. Spans are parented explicitly, never through the active
 * context, so no async-hooks context manager is installed (it would tax every promise).
 */
export function startTracerSdk(options: { serviceName: string; env?: NodeJS.ProcessEnv }): TracerSdk {
  const env = options.env ?? process.env;
  const serviceNameSet = env.OTEL_SERVICE_NAME !== undefined || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const sdk = new NodeSDK({
    ...(serviceNameSet ? {} : { serviceName: options.serviceName }),
    sampler: new tracing.AlwaysOnSampler(),
    contextManager: new ExplicitContextManager(),
    textMapPropagator: null,
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return {
    tracer: trace.getTracer('sluice'),
    destination: describeDestination(env),
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

function describeDestination(env: NodeJS.ProcessEnv): string {
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (!exporters.includes('otlp')) return exporters.join(', ') || 'otlp';
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? (protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318')).replace(/\/$/, '')}${protocol === 'grpc' ? '' : '/v1/traces'}`;
  return `${url} (otlp ${protocol})`;
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
