import type { IncomingHttpHeaders } from 'node:http';
import { defaultTextMapGetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

// Sluice's tracer SDK installs no global propagator (spans are parented explicitly), so the
// service reads W3C trace context itself.
const propagator = new W3CTraceContextPropagator();

/** The tracer the service uses unless told otherwise: the global one, a no-op until an SDK starts. */
export function defaultServeTracer(): Tracer {
  return trace.getTracer('sluice-serve');
}

/**
 * Starts the server span of one request as a child of the caller's span when the request
 * carries a W3C `traceparent` (and `tracestate`), else as a new trace. A caller that did not
 * sample its span (flags 00) gets no span here either: the caller decides, as parent-based
 * samplers do (Sluice's SDK samples everything it is asked to start).
 *
 * @example
 * const span = startServerSpan(tracer, 'POST /v2/models/{model_name}/infer', request.headers, { 'url.path': '/v2/models/fraud-v1/infer' });
 * span.end();
 */
export function startServerSpan(tracer: Tracer, name: string, headers: IncomingHttpHeaders, attributes: Record<string, string | number>): Span {
  const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  const caller = trace.getSpanContext(parent);
  if (caller !== undefined && (caller.traceFlags & TraceFlags.SAMPLED) === 0) return trace.wrapSpanContext(caller);
  return tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
}

/** Ends a server span with the response status; 5xx marks it as an error (OpenTelemetry's HTTP server rule). */
export function endServerSpan(span: Span, status: number, message?: string): void {
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, ...(message === undefined ? {} : { message }) });
  span.end();
}
