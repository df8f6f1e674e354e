import type { IHeaders } from 'kafkajs';
import type { Envelope, TraceCarrier } from '../../core/record.ts';

/**
 * Kafka headers as text. A header repeated in one message keeps its last value; binary values
 * are read as UTF-8 (a record's headers are meant for metadata, not payloads).
 *
 * @example
 * readHeaders({ traceparent: Buffer.from('00-…-01') }) // { traceparent: '00-…-01' }
 */
export function readHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const name of Object.keys(headers)) {
    let value = headers[name];
    if (Array.isArray(value)) value = value[value.length - 1];
    if (value === undefined) continue;
    out[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return out;
}

/** The W3C trace context a producer put in the headers, if any. */
export function traceFromHeaders(headers: Readonly<Record<string, string>>): TraceCarrier | undefined {
  const traceparent = headers.traceparent;
  if (traceparent === undefined || traceparent === '') return undefined;
  const tracestate = headers.tracestate;
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

/**
 * The headers Sluice writes on an output record: the trace context (`traceparent`,
 * `tracestate`) and, when the value says which model made it, `model-version`.
 *
 * @example
 * outputHeaders(record) // { traceparent: '00-…-01', 'model-version': 'fraud-v1' }
 */
export function outputHeaders(record: Envelope<unknown>): Record<string, string> {
  const headers: Record<string, string> = {};
  if (record.trace !== undefined) {
    headers.traceparent = record.trace.traceparent;
    if (record.trace.tracestate !== undefined) headers.tracestate = record.trace.tracestate;
  }
  const value = record.value;
  if (typeof value === 'object' && value !== null && 'modelVersion' in value && typeof value.modelVersion === 'string') {
    headers['model-version'] = value.modelVersion;
  }
  return headers;
}
