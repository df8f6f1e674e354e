import type { IHeaders } from 'kafkajs';
import type { Envelope, TraceCarrier } from '../../core/record.ts';
import { traceCarrier } from '../../core/traceContext.ts';

/**
 * Kafka headers as text. A header repeated in one message keeps its last value; binary values
 * are read as UTF-8 (a record's headers are meant for metadata, not payloads).
 *
 * @example
 * readHeaders({ traceparent: Buffer.from('00-…-01') }) // { traceparent: '00-…-01' }
 */
export function readHeaders(headers: IHeaders | undefined): Readonly<Record<string, string>> {
  if (headers === undefined) return NO_HEADERS;
  let out: Record<string, string> | undefined;
  for (const name in headers) {
    out ??= {};
    let value = headers[name];
    if (Array.isArray(value)) value = value[value.length - 1];
    if (value === undefined) continue;
    out[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return out ?? NO_HEADERS;
}

/** The headers of every record that has none: one shared, frozen object, not one per record. */
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The W3C trace context a producer put in the headers, if it is valid. A malformed
 * `traceparent` (wrong length, not lower-case hex, an all-zero id, version ff) is ignored, with
 * its `tracestate`: the record starts a fresh trace and the bad header is not copied onto outputs.
 *
 * @example
 * traceFromHeaders({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }) // { traceparent: '00-4bf9…-01' }
 * traceFromHeaders({ traceparent: 'garbage' }) // undefined
 */
export function traceFromHeaders(headers: Readonly<Record<string, string>>): TraceCarrier | undefined {
  return traceCarrier(headers.traceparent, headers.tracestate);
}

/**
 * The headers Sluice writes on an output record: the trace context (`traceparent`,
 * `tracestate`) and, when the value says which model made it, `model-version`.
 *
 * @example
 * outputHeaders(record) // { traceparent: '00-…-01', 'model-version': 'fraud-v1' }
 */
export function outputHeaders(record: Envelope<unknown>): Record<string, string> {
  const value = record.value;
  const modelVersion =
    typeof value === 'object' && value !== null && 'modelVersion' in value && typeof value.modelVersion === 'string' ? value.modelVersion : undefined;
  if (record.trace === undefined) {
    // The common case shares one headers object per model version (kafkajs only reads it).
    if (modelVersion === undefined) return NO_OUTPUT_HEADERS;
    let shared = versionHeaders.get(modelVersion);
    if (shared === undefined) {
      if (versionHeaders.size > 64) versionHeaders.clear();
      shared = Object.freeze({ 'model-version': modelVersion }) as Record<string, string>;
      versionHeaders.set(modelVersion, shared);
    }
    return shared;
  }
  const headers: Record<string, string> = { traceparent: record.trace.traceparent };
  if (record.trace.tracestate !== undefined) headers.tracestate = record.trace.tracestate;
  if (modelVersion !== undefined) headers['model-version'] = modelVersion;
  return headers;
}

const NO_OUTPUT_HEADERS = Object.freeze({}) as Record<string, string>;
const versionHeaders = new Map<string, Record<string, string>>();
