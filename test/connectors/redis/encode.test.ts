// The packed row format of the online store: every value comes back with the same bits, also
// the numbers JSON has no number for (NaN, ±Infinity, -0). No Redis needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FeatureInfo } from '../../../core/features/index.ts';
import { decodeRow, decodeValue, encodeRow } from '../../../connectors/redis/index.ts';

const features: FeatureInfo[] = [
  { name: 'f32', type: 'float32', ttlMs: 1, default: 0 },
  { name: 'f64', type: 'float64', ttlMs: 1, default: 0 },
  { name: 'nan', type: 'float64', ttlMs: 1, default: 0 },
  { name: 'inf', type: 'float64', ttlMs: 1, default: 0 },
  { name: 'ninf', type: 'float64', ttlMs: 1, default: 0 },
  { name: 'nzero', type: 'float64', ttlMs: 1, default: 0 },
  { name: 'n', type: 'int', ttlMs: 1, default: 0 },
  { name: 'b', type: 'bool', ttlMs: 1, default: false },
  { name: 's', type: 'string', ttlMs: 1, default: '' },
];

test('a row goes through the stored text bit for bit', () => {
  const values = { f32: Math.fround(0.1), f64: 0.1 + 0.2, nan: Number.NaN, inf: Infinity, ninf: -Infinity, nzero: -0, n: 42, b: true, s: 'say "hi"\n' };
  const text = encodeRow({ view: 'v', entity: 'e', eventTime: 1_700_000_000_000, values }, 1_700_000_000_500);
  const stored = decodeRow(text)!;
  assert.equal(stored.eventTime, 1_700_000_000_000);
  assert.equal(stored.writtenAt, 1_700_000_000_500);
  for (const feature of features) {
    const back = decodeValue(feature, stored.values[feature.name]);
    assert.ok(Object.is(back, values[feature.name as keyof typeof values]), `${feature.name}: ${String(back)}`);
  }
  const f64 = new Float64Array([decodeValue(features[1]!, stored.values.f64) as number]);
  assert.deepEqual(new Uint8Array(f64.buffer), new Uint8Array(new Float64Array([0.1 + 0.2]).buffer));
});

test('plain finite rows are stored as plain JSON numbers', () => {
  assert.equal(encodeRow({ view: 'v', entity: 'e', eventTime: 5, values: { a: 0.25, b: false } }, 9), '{"t":5,"w":9,"v":{"a":0.25,"b":false}}');
});

test('what the store did not write reads as absent', () => {
  for (const text of [null, undefined, '', 'not json', '42', '{"v":{}}', '{"t":"5","v":{}}', '{"t":5,"v":null}']) assert.equal(decodeRow(text), undefined, String(text));
  assert.equal(decodeValue(features[0]!, undefined), undefined);
});
