import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outputHeaders, readHeaders, traceFromHeaders } from '../../../connectors/kafka/headers.ts';
import type { Envelope } from '../../../core/record.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${PARENT}-01`;

/** What a Kafka source makes of a message's headers, as the sink would write them out again. */
function roundTrip(headers: Record<string, string>): Record<string, string> {
  const trace = traceFromHeaders(readHeaders(Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Buffer.from(value)]))));
  return outputHeaders({ value: {}, trace } as unknown as Envelope<unknown>);
}

describe('traceFromHeaders', () => {
  it('keeps a valid traceparent and its tracestate', () => {
    assert.deepEqual(traceFromHeaders({ traceparent: VALID, tracestate: 'congo=t61rcWkgMzE' }), { traceparent: VALID, tracestate: 'congo=t61rcWkgMzE' });
    assert.deepEqual(traceFromHeaders({ traceparent: `00-${TRACE}-${PARENT}-00` }), { traceparent: `00-${TRACE}-${PARENT}-00` });
  });

  it('passes a later version on as version 00 and drops its extra fields', () => {
    assert.deepEqual(traceFromHeaders({ traceparent: `01-${TRACE}-${PARENT}-01-what-the-future-holds` }), { traceparent: VALID });
  });

  const malformed: Record<string, string> = {
    empty: '',
    'wrong length': `${VALID}0`,
    'version 00 with extra fields': `${VALID}-extra`,
    'short parent id': `00-${TRACE}-${PARENT.slice(1)}-01`,
    'not hex': `00-${TRACE.slice(0, 31)}x-${PARENT}-01`,
    'upper-case hex': `00-${TRACE.toUpperCase()}-${PARENT}-01`,
    'all-zero trace id': `00-${'0'.repeat(32)}-${PARENT}-01`,
    'all-zero parent id': `00-${TRACE}-${'0'.repeat(16)}-01`,
    'version ff': `ff-${TRACE}-${PARENT}-01`,
    'flags not hex': `00-${TRACE}-${PARENT}-0z`,
    garbage: 'hello',
  };
  for (const [kind, traceparent] of Object.entries(malformed)) {
    it(`ignores a malformed traceparent (${kind}) with its tracestate`, () => {
      assert.equal(traceFromHeaders({ traceparent, tracestate: 'vendor=1' }), undefined);
      assert.deepEqual(roundTrip({ traceparent, tracestate: 'vendor=1' }), {}, 'not copied onto the output record');
    });
  }

  it('copies a valid one onto the output record', () => {
    assert.deepEqual(roundTrip({ traceparent: VALID, tracestate: 'vendor=1' }), { traceparent: VALID, tracestate: 'vendor=1' });
  });

  it('drops a tracestate beyond the W3C size limit', () => {
    assert.deepEqual(traceFromHeaders({ traceparent: VALID, tracestate: `v=${'a'.repeat(600)}` }), { traceparent: VALID });
  });

  it('has nothing to say without a traceparent', () => {
    assert.equal(traceFromHeaders({ tracestate: 'vendor=1' }), undefined);
  });
});
