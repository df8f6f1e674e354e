import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonDecoder } from '../../../core/decode.ts';
import type { SourceRecord } from '../../../core/record.ts';
import { startTelemetry, type TelemetryOptions } from '../../../runtime/telemetry/telemetry.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlpReceiver.ts';
import { driveSource, finishRecords, records, type Emitted } from './sourceDriver.ts';

let receiver: OtlpReceiver;
const saved = { ...process.env };

before(async () => {
  receiver = await startOtlpReceiver();
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_BSP_MAX_QUEUE_SIZE: '100000',
    OTEL_BSP_SCHEDULE_DELAY: '20',
  });
  delete process.env.OTEL_SDK_DISABLED;
  delete process.env.OTEL_TRACES_EXPORTER;
  delete process.env.OTEL_TRACES_SAMPLER;
});

after(async () => {
  process.env = saved;
  await receiver.close();
});

/** Traces every record of `input` through the telemetry; returns what was emitted and exported. */
async function trace(input: SourceRecord<unknown>[], options: Partial<TelemetryOptions> = {}, deadLetter?: (i: number) => string | undefined): Promise<{ emitted: Emitted; spans: ReceivedSpan[] }> {
  receiver.spans.length = 0;
  const telemetry = await startTelemetry({ jobName: 'span-content', traceSample: 1, ...options });
  const emitted = await driveSource(telemetry, input, deadLetter);
  finishRecords(telemetry.instrumentation, emitted);
  await telemetry.stop();
  return { emitted, spans: [...receiver.spans] };
}

const CARD = '4111111111111111';

describe('span attributes', () => {
  it('carry the record key by default, and none with keysInSpans off', async () => {
    const on = await trace(records(20));
    const consume = on.spans.filter((span) => span.name === 'consume in');
    assert.equal(consume.length, 20);
    assert.deepEqual(consume.map((span) => span.attributes['sluice.key']).sort(), records(20).map((r) => r.key).sort());

    const off = await trace(records(20), { keysInSpans: false });
    assert.equal(off.spans.length, on.spans.length, 'the same spans are made');
    const keys = new Set(records(20).map((r) => r.key));
    for (const span of off.spans) {
      assert.ok(!('sluice.key' in span.attributes), `${span.name} has no sluice.key`);
      for (const [name, value] of Object.entries(span.attributes)) assert.ok(!keys.has(String(value)), `${span.name} ${name}=${String(value)} is a record key`);
    }
  });

  it('carry no fragment of a record, not even in a dead-letter reason', async () => {
    const decode = jsonDecoder((value) => value);
    const reasonOf = (text: string): string => {
      try {
        decode(text);
        return 'decoded';
      } catch (error) {
        return (error as Error).message;
      }
    };
    const input = records(10).map((record, i) => ({ ...record, value: { id: i, card: CARD }, original: Buffer.from(`{"card": "${CARD}", "amount": oops}`) }));
    const { spans, emitted } = await trace(input, {}, (i) => (i % 2 === 0 ? reasonOf(`{"card": "${CARD}", "amount": oops}`) : undefined));
    assert.equal(emitted.deadLetters.length, 5);
    const deadLetterSpans = spans.filter((span) => span.name === 'dead-letter');
    assert.equal(deadLetterSpans.length, 5);
    assert.match(String(deadLetterSpans[0]!.attributes['sluice.dead_letter.reason']), /^malformed JSON at byte \d+: unexpected character$/);
    for (const span of spans) {
      const text = JSON.stringify([span.name, span.attributes, span.status]);
      assert.ok(!text.includes('4111') && !text.includes('oops'), `${span.name} carries record content: ${text}`);
    }
  });
});

describe('an incoming traceparent', () => {
  const upstreamTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const malformed: Record<string, string> = {
    'wrong length': `00-${upstreamTrace}-00f067aa0ba902b7-011`,
    'short trace id': `00-${upstreamTrace.slice(2)}-00f067aa0ba902b7-01`,
    'not hex': `00-${upstreamTrace.slice(0, 31)}g-00f067aa0ba902b7-01`,
    'upper case': `00-${upstreamTrace.toUpperCase()}-00f067aa0ba902b7-01`,
    'all-zero trace id': `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
    'all-zero parent id': `00-${upstreamTrace}-${'0'.repeat(16)}-01`,
    'version ff': `ff-${upstreamTrace}-00f067aa0ba902b7-01`,
  };

  it('is continued when valid', async () => {
    const { emitted, spans } = await trace(records(1, () => ({ traceparent: `00-${upstreamTrace}-00f067aa0ba902b7-01`, tracestate: 'vendor=1' })));
    const consume = spans.find((span) => span.name === 'consume in')!;
    assert.equal(consume.traceId, upstreamTrace);
    assert.equal(consume.parentSpanId, '00f067aa0ba902b7');
    assert.deepEqual(emitted.records[0]!.trace, { traceparent: `00-${upstreamTrace}-${consume.spanId}-01`, tracestate: 'vendor=1' });
  });

  for (const [kind, traceparent] of Object.entries(malformed)) {
    it(`starts a fresh trace when malformed (${kind})`, async () => {
      const { emitted, spans } = await trace(records(1, () => ({ traceparent, tracestate: 'vendor=1' })));
      const consume = spans.find((span) => span.name === 'consume in')!;
      assert.equal(consume.parentSpanId, undefined, 'a root span');
      assert.notEqual(consume.traceId, upstreamTrace);
      assert.notEqual(consume.traceId, '0'.repeat(32));
      assert.deepEqual(emitted.records[0]!.trace, { traceparent: `00-${consume.traceId}-${consume.spanId}-01` }, 'the output carries the fresh trace, without the tracestate');
    });
  }
});
