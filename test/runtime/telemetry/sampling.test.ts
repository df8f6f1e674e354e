import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SAMPLE_RATIO, parentSampled, recordSampler, samplesNothing, samplingPolicy } from '../../../runtime/telemetry/sampling.ts';
import type { TraceCarrier } from '../../../core/record.ts';

/** A valid W3C trace context made from a number (as kit.ts has it, without loading the job kit). */
function upstreamTrace(i: number, sampled = true): TraceCarrier {
  const traceId = (0xabc00000 + i).toString(16).padStart(32, '0');
  const spanId = (0xdef000 + i).toString(16).padStart(16, '0');
  return { traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}` };
}

/** A seeded generator (mulberry32), so the statistical checks are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('samplingPolicy', () => {
  it('defaults to parent-based sampling of 0.1 % of records', () => {
    assert.deepEqual(samplingPolicy({ env: {} }), { name: 'parentbased_traceidratio', ratio: DEFAULT_SAMPLE_RATIO, parentBased: true });
    assert.equal(DEFAULT_SAMPLE_RATIO, 0.001);
  });

  it('reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG', () => {
    assert.deepEqual(samplingPolicy({ env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' } }), { name: 'traceidratio', ratio: 0.25, parentBased: false });
    assert.deepEqual(samplingPolicy({ env: { OTEL_TRACES_SAMPLER: 'parentbased_always_off' } }), { name: 'parentbased_always_off', ratio: 0, parentBased: true });
    assert.deepEqual(samplingPolicy({ env: { OTEL_TRACES_SAMPLER: 'ALWAYS_ON' } }), { name: 'always_on', ratio: 1, parentBased: false });
    assert.equal(samplesNothing(samplingPolicy({ env: { OTEL_TRACES_SAMPLER: 'always_off' } })), true);
    assert.equal(samplesNothing(samplingPolicy({ env: { OTEL_TRACES_SAMPLER: 'parentbased_always_off' } })), false, 'upstream-sampled records are still traced');
  });

  it('lets --trace-sample win, with 0 meaning off', () => {
    const env = { OTEL_TRACES_SAMPLER: 'always_on' };
    assert.deepEqual(samplingPolicy({ traceSample: 0.02, env }), { name: 'parentbased_traceidratio', ratio: 0.02, parentBased: true });
    assert.equal(samplesNothing(samplingPolicy({ traceSample: 0, env })), true);
  });

  it('rejects what it cannot honour with a message that says what to do', () => {
    assert.throws(() => samplingPolicy({ env: { OTEL_TRACES_SAMPLER: 'jaeger_remote' } }), /OTEL_TRACES_SAMPLER=jaeger_remote is not supported by Sluice — use one of always_on, always_off, traceidratio/);
    assert.throws(() => samplingPolicy({ env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' } }), /OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1, e\.g\. 0\.01 for 1 % of records \(got half\)/);
    assert.throws(() => samplingPolicy({ traceSample: 1.5 }), /--trace-sample must be a ratio between 0 and 1/);
  });
});

describe('recordSampler', () => {
  it('samples the asked share of records, spread like a coin flip per record', () => {
    const sample = recordSampler({ name: 'traceidratio', ratio: 0.01, parentBased: false }, seeded(7));
    const picked: number[] = [];
    for (let i = 0; i < 400_000; i += 1) if (sample(undefined)) picked.push(i);
    // Binomial(400000, 0.01): mean 4000, sd 63.
    assert.ok(Math.abs(picked.length - 4000) < 250, `${picked.length} sampled`);
    const gaps = picked.slice(1).map((at, i) => at - picked[i]!);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    assert.ok(Math.abs(mean - 100) < 6, `mean gap ${mean}`);
    // Geometric gaps: about 1 % of them are 1 (back-to-back), about e^-1 are longer than 100.
    assert.ok(gaps.filter((g) => g === 1).length > 15, 'neighbours can both be sampled');
    const long = gaps.filter((g) => g > 100).length / gaps.length;
    assert.ok(Math.abs(long - Math.exp(-1)) < 0.03, `share of gaps over 100: ${long}`);
  });

  it('samples all or nothing at the ends', () => {
    const all = recordSampler({ name: 'always_on', ratio: 1, parentBased: false });
    const none = recordSampler({ name: 'always_off', ratio: 0, parentBased: false });
    for (let i = 0; i < 1000; i += 1) {
      assert.equal(all(undefined), true);
      assert.equal(none(upstreamTrace(i)), false);
    }
  });

  it('follows the upstream sampled flag when parent-based, and the ratio for malformed or absent ones', () => {
    const sample = recordSampler({ name: 'parentbased_traceidratio', ratio: 0, parentBased: true });
    assert.equal(sample(upstreamTrace(1, true)), true);
    assert.equal(sample(upstreamTrace(2, false)), false);
    assert.equal(sample({ traceparent: 'garbage' }), false);
    assert.equal(sample(undefined), false);
    const always = recordSampler({ name: 'parentbased_always_on', ratio: 1, parentBased: true });
    assert.equal(always(upstreamTrace(3, false)), false, 'an upstream "not sampled" wins over always_on');
    assert.equal(always({ traceparent: 'garbage' }), true);
  });

  it('reads the sampled flag of a traceparent', () => {
    assert.equal(parentSampled('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), true);
    assert.equal(parentSampled('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00'), false);
    assert.equal(parentSampled('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03'), true);
    assert.equal(parentSampled('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331'), undefined);
    assert.equal(parentSampled('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-zz'), undefined);
    assert.equal(parentSampled(`00-${'0'.repeat(32)}-b7ad6b7169203331-01`), undefined, 'all-zero trace id');
    assert.equal(parentSampled('ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), undefined, 'version ff');
    assert.equal(parentSampled('00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01'), undefined, 'upper case');
  });
});
