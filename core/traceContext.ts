import type { TraceCarrier } from './record.ts';

/** Lower-case hex only: W3C trace context does not allow upper case. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
/** The W3C limit on a tracestate value a participant must propagate. */
const MAX_TRACESTATE_LENGTH = 512;

/**
 * Whether a `traceparent` follows the W3C Trace Context rules: `version-traceid-parentid-flags`
 * in lower-case hex, 55 characters for version 00, version `ff` forbidden, trace id and parent
 * id not all zeros. A later version may append fields after a dash, as the spec allows.
 *
 * @example
 * validTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') // true
 * validTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01') // false
 */
export function validTraceparent(traceparent: string): boolean {
  const match = TRACEPARENT.exec(traceparent);
  if (match === null) return false;
  const [, version, traceId, spanId, , rest] = match;
  if (version === 'ff' || traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return false;
  return version !== '00' || rest === undefined;
}

/**
 * A trace carrier from incoming `traceparent` / `tracestate` text, or undefined when the
 * traceparent is missing or invalid: a record with a malformed parent starts a fresh trace
 * rather than passing the bad header on. A tracestate is kept only with a valid traceparent,
 * and only within the W3C size limit.
 *
 * @example
 * traceCarrier('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'vendor=1') // { traceparent: '00-4bf9…-01', tracestate: 'vendor=1' }
 * traceCarrier('00-xyz-01') // undefined
 */
export function traceCarrier(traceparent: string | undefined, tracestate?: string): TraceCarrier | undefined {
  if (traceparent === undefined) return undefined;
  const trimmed = traceparent.trim();
  if (!validTraceparent(trimmed)) return undefined;
  // A later version is passed on as the version this code knows (its first four fields).
  const canonical = trimmed.startsWith('00-') ? trimmed : `00-${trimmed.slice(3, 55)}`;
  const state = tracestate?.trim();
  return state === undefined || state === '' || state.length > MAX_TRACESTATE_LENGTH ? { traceparent: canonical } : { traceparent: canonical, tracestate: state };
}
