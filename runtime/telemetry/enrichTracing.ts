import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, createTraceState, type Span, type Tracer } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';
import type { EnrichCallTrace, Instrumentation, InstrumentationEvents } from '../../core/instrumentation.ts';
import { validTraceparent } from '../../core/traceContext.ts';
import { hr, shortReason } from './spanFields.ts';

/**
 * One CLIENT span per `enrich` request whose batch holds a sampled record, so the remote call
 * shows in the record's trace and the service's own span hangs below it. Unlike the other
 * stage spans (made after the fact), this one is started when the request starts: its id must
 * go out in the request's `traceparent`, which `enrich.call` lets tracing set. Its parent is
 * the first sampled record's span (the trace carrier names the record's consume span); retries
 * and the fallback are span events, a failed request an error status.
 *
 * @example
 * new EnrichTracing(sdk.tracer).subscribe(instrumentation); // beside RecordTracing
 */
export class EnrichTracing {
  readonly #tracer: Tracer;
  readonly #open = new WeakMap<EnrichCallTrace, Span>();

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  /** Listens to the enrich events; returns the unsubscribe. */
  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [
      instrumentation.on('enrich.call', (e) => this.#call(e)),
      instrumentation.on('enrich.retry', (e) => this.#open.get(e.call)?.addEvent('retry', { 'sluice.enrich.attempt': e.attempt, 'sluice.enrich.delay_ms': e.delayMs, 'exception.message': shortReason(e.error) })),
      instrumentation.on('enrich.done', (e) => this.#done(e)),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  #call({ stage, records, startedAt, call }: InstrumentationEvents['enrich.call']): void {
    // Sampled records carry a traceparent with the sampled flag; the rest are not traced.
    const carrier = records.find((record) => record.trace !== undefined && record.trace.traceparent.endsWith('-01') && validTraceparent(record.trace.traceparent))?.trace;
    if (carrier === undefined) return;
    const parent = parseTraceParent(carrier.traceparent);
    if (parent === null) return;
    if (carrier.tracestate !== undefined) parent.traceState = createTraceState(carrier.tracestate);
    const span = this.#tracer.startSpan(
      `enrich ${stage}`,
      { kind: SpanKind.CLIENT, startTime: hr(startedAt), attributes: { 'sluice.stage': stage, 'sluice.batch.size': records.length } },
      trace.setSpanContext(ROOT_CONTEXT, parent),
    );
    const context = span.spanContext();
    call.traceparent = `00-${context.traceId}-${context.spanId}-01`;
    this.#open.set(call, span);
  }

  #done({ call, attempts, fallbacks, error }: InstrumentationEvents['enrich.done']): void {
    const span = this.#open.get(call);
    if (span === undefined) return;
    this.#open.delete(call);
    span.setAttribute('sluice.enrich.attempts', attempts);
    if (fallbacks > 0) span.addEvent('fallback', { 'sluice.enrich.fallbacks': fallbacks });
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: shortReason(error) });
    span.end(hr(performance.now()));
  }
}
