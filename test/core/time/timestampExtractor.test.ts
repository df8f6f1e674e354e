import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompletionTracker } from '../../../core/completion.ts';
import type { Envelope } from '../../../core/record.ts';
import { InvalidTimestampError } from '../../../core/time/errors.ts';
import { extractTimestamp, recordTimestamp } from '../../../core/time/timestampExtractor.ts';

const tracker = new CompletionTracker();
let offset = 0;
function envelope<V>(value: V, timestamp = 5): Envelope<V> {
  const position = { topic: 't', partition: 0, offset: offset++ };
  return { key: 'k', value, timestamp, position, headers: {}, trace: undefined, receivedAt: 0, original: undefined, ticket: tracker.track(position) };
}

test('the default extractor reads the envelope timestamp', () => {
  assert.equal(extractTimestamp(recordTimestamp, envelope({}, 42)), 42);
});

test('an extractor reading the value', () => {
  assert.equal(extractTimestamp((v: { at: number }) => v.at, envelope({ at: 7 })), 7);
});

test('NaN, a string, Infinity or a throwing extractor give an InvalidTimestampError value, not a throw', () => {
  const nan = extractTimestamp((v: { at: number }) => v.at, envelope({ at: Number.NaN }));
  assert.ok(nan instanceof InvalidTimestampError);
  assert.match(nan.message, /event time must be a finite number of ms since the epoch \(got NaN\)/);
  assert.ok(extractTimestamp((v: { at: unknown }) => v.at as number, envelope({ at: '2024-01-01' })) instanceof InvalidTimestampError);
  assert.ok(extractTimestamp(() => Infinity, envelope({})) instanceof InvalidTimestampError);
  const thrown = extractTimestamp(() => {
    throw new Error('no field');
  }, envelope({}));
  assert.ok(thrown instanceof InvalidTimestampError);
  assert.match(thrown.message, /extractor threw: no field/);
});
