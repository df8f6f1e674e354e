import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTelemetry } from '../../../runtime/telemetry/telemetry.ts';
import { startOtlpReceiver, type OtlpReceiver } from './otlpReceiver.ts';
import { driveSource, finishRecords, records } from './sourceDriver.ts';

const RECORDS = 2000;
/** Spans per record in {@link finishRecords}: consume, features, produce. */
const SPANS_PER_RECORD = 3;
const QUEUE = 64;

let receiver: OtlpReceiver;
const saved = { ...process.env };

before(async () => {
  receiver = await startOtlpReceiver();
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_BSP_MAX_QUEUE_SIZE: String(QUEUE),
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: String(QUEUE),
    OTEL_BSP_SCHEDULE_DELAY: '20',
  });
  delete process.env.OTEL_SDK_DISABLED;
  delete process.env.OTEL_TRACES_EXPORTER;
});

after(async () => {
  process.env = saved;
  await receiver.close();
});

describe('spans dropped by a full export queue', () => {
  it('are counted in a metric and said once on stderr: exported + dropped = created', async (t) => {
    const warnings: string[] = [];
    const telemetry = await startTelemetry({ jobName: 'drops', metricsPort: 0, warn: (line) => warnings.push(line) });
    let stopped = false;
    t.after(async () => {
      if (!stopped) await telemetry.stop();
    });
    assert.equal(telemetry.sampling?.ratio, 1, 'OTEL_TRACES_SAMPLER=always_on traces every record');

    finishRecords(telemetry.instrumentation, await driveSource(telemetry, records(RECORDS)));
    const dropped = telemetry.spans!.dropped;
    const metric = (await telemetry.metrics!.registry.getSingleMetric('sluice_trace_spans_dropped_total')!.get()).values;
    assert.deepEqual(
      Object.fromEntries(metric.map((v) => [v.labels.reason, v.value])),
      { queue_full: dropped.queue_full, export_failed: dropped.export_failed },
      'the metric reads the counts',
    );

    await telemetry.stop();
    stopped = true;
    const { created, exported } = telemetry.spans!;
    const lost = dropped.queue_full + dropped.export_failed;
    assert.equal(created, RECORDS * SPANS_PER_RECORD, 'every span the job ended is counted as created');
    assert.ok(dropped.queue_full > 0, `a ${QUEUE}-span queue cannot take ${created} spans made at once`);
    assert.ok(exported >= QUEUE, `the queued spans (${exported}) were exported`);
    assert.equal(receiver.spans.length, exported, 'what the exporter confirmed is what the receiver got');
    assert.equal(exported + lost, created, `exported ${exported} + dropped ${lost} = created ${created}`);

    const queueLines = warnings.filter((line) => line.includes('export queue is full'));
    assert.equal(queueLines.length, 1, `one warning for ${dropped.queue_full} drops: ${warnings.join(' | ')}`);
    assert.match(queueLines[0]!, /OTEL_BSP_MAX_QUEUE_SIZE=64\b.*lower the sample rate.*raise OTEL_BSP_MAX_QUEUE_SIZE/);
    assert.ok(warnings.some((line) => line === `tracing: ${lost} of ${created} spans were dropped (${dropped.queue_full} by the full export queue, ${dropped.export_failed} by failed exports)`), warnings.join(' | '));
    assert.ok(warnings.every((line) => !line.includes('\n')), 'each warning is one line');
  });

  it('are not counted when the queue keeps up', async (t) => {
    process.env.OTEL_BSP_MAX_QUEUE_SIZE = '100000';
    t.after(() => {
      process.env.OTEL_BSP_MAX_QUEUE_SIZE = String(QUEUE);
    });
    receiver.spans.length = 0;
    const warnings: string[] = [];
    const telemetry = await startTelemetry({ jobName: 'drops', warn: (line) => warnings.push(line) });
    finishRecords(telemetry.instrumentation, await driveSource(telemetry, records(200)));
    await telemetry.stop();
    assert.deepEqual(telemetry.spans!.dropped, { queue_full: 0, export_failed: 0 });
    assert.equal(receiver.spans.length, 200 * SPANS_PER_RECORD);
    assert.deepEqual(warnings, []);
  });
});
