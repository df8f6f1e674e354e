import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startTelemetry } from '../../../runtime/telemetry/telemetry.ts';
import { startOtlpReceiver, type OtlpReceiver } from './otlpReceiver.ts';

let receiver: OtlpReceiver;
const saved = { ...process.env };

before(async () => {
  receiver = await startOtlpReceiver();
  Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '20' });
  delete process.env.OTEL_SDK_DISABLED;
  delete process.env.OTEL_TRACES_EXPORTER;
  delete process.env.OTEL_TRACES_SAMPLER;
});

after(async () => {
  process.env = saved;
  await receiver.close();
});

it('a drift window becomes one span with PSI and KS of every column as attributes', async () => {
  const telemetry = await startTelemetry({ jobName: 'drift-spans', traceSample: 1 });
  const start = Date.UTC(2026, 0, 1);
  telemetry.instrumentation.emit('drift.window', {
    stage: 'drift',
    model: 'fraud@1',
    start,
    end: start + 10_000,
    records: 500,
    features: [{ name: 'amount_log', psi: 0.31, ks: 0.2, count: 500, missing: 0 }],
    score: { name: 'score', psi: 0.02, ks: 0.05, count: 500, missing: 0 },
    drifted: ['amount_log'],
  });
  await telemetry.stop();
  const span = receiver.spans.find((s) => s.name === 'drift fraud@1');
  assert.ok(span !== undefined, `a drift span was exported (got ${receiver.spans.map((s) => s.name).join(', ') || 'none'})`);
  assert.equal(span.attributes['sluice.drift.amount_log.psi'], 0.31);
  assert.equal(span.attributes['sluice.drift.score.ks'], 0.05);
  assert.equal(span.attributes['sluice.drift.drifted'], 'amount_log');
  assert.equal(span.endMs - span.startMs, 10_000);
});
