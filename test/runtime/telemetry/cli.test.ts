import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { main } from '../../../runtime/cli.ts';
import { startOtlpReceiver, type OtlpReceiver } from './otlpReceiver.ts';

const JOB = new URL('fixtures/tracedJob.ts', import.meta.url).pathname;
let receiver: OtlpReceiver;

before(async () => {
  for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_') || name.startsWith('SLUICE_')) delete process.env[name];
  receiver = await startOtlpReceiver();
});

after(async () => {
  await receiver.close();
});

/** Runs the CLI, capturing what it writes to stderr. */
async function sluice(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe('sluice run --trace-sample / --metrics-port', () => {
  it('traces every record with --trace-sample 1 and exports to OTEL_EXPORTER_OTLP_ENDPOINT under the job name', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
    process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = 'http/json';
    process.env.OTEL_BSP_MAX_QUEUE_SIZE = '100000';
    try {
      receiver.spans.length = 0;
      const { code, stderr } = await sluice(['run', JOB, '--workers', '1', '--trace-sample', '1', '--metrics-port', '0', '--no-progress']);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /tracing: every record .* → http:\/\/127\.0\.0\.1:\d+\/v1\/traces \(otlp http\/json\)/);
      assert.match(stderr, /metrics: http:\/\/127\.0\.0\.1:\d+\/metrics/);
      const consumes = receiver.spans.filter((span) => span.name === 'consume numbers');
      assert.equal(consumes.length, 200);
      assert.equal(receiver.spans.filter((span) => span.name === 'decision').length, 200);
      assert.ok(receiver.spans.some((span) => span.name === 'inference fraud-v1.onnx' && Number(span.attributes['thread.id']) > 0));
      assert.ok(receiver.spans.every((span) => span.resource['service.name'] === 'traced-job'));
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      delete process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL;
      delete process.env.OTEL_BSP_MAX_QUEUE_SIZE;
    }
  });

  it('lets OTEL_SERVICE_NAME and the OTEL_TRACES_SAMPLER variables decide when no flag is given', async () => {
    Object.assign(process.env, {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'fraud-scoring',
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.5',
    });
    try {
      receiver.spans.length = 0;
      const { code, stderr } = await sluice(['run', JOB, '--workers', '1', '--no-progress']);
      assert.equal(code, 0, stderr);
      assert.match(stderr, /tracing: 50 % of records → /);
      const consumes = receiver.spans.filter((span) => span.name === 'consume numbers').length;
      assert.ok(consumes > 60 && consumes < 140, `${consumes} of 200 at 50 %`);
      assert.ok(receiver.spans.every((span) => span.resource['service.name'] === 'fraud-scoring'));
    } finally {
      for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name];
    }
  });

  it('runs without tracing or a metrics server when nothing asks for them', async () => {
    receiver.spans.length = 0;
    receiver.requests.length = 0;
    const { code, stderr } = await sluice(['run', JOB, '--workers', '1', '--no-progress']);
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /tracing:|metrics:/);
    assert.equal(receiver.requests.length, 0);
  });

  it('rejects a sample ratio or port out of range, and an unknown sampler, with a readable message', async () => {
    const ratio = await sluice(['run', JOB, '--trace-sample', '1.5']);
    assert.notEqual(ratio.code, 0);
    assert.match(ratio.stderr, /--trace-sample.*must be a number from 0 to 1/);
    const port = await sluice(['run', JOB, '--metrics-port', '70000']);
    assert.notEqual(port.code, 0);
    assert.match(port.stderr, /--metrics-port.*must be a port number/);
    process.env.OTEL_TRACES_SAMPLER = 'jaeger_remote';
    try {
      const sampler = await sluice(['run', JOB, '--workers', '1', '--no-progress']);
      assert.equal(sampler.code, 1);
      assert.match(sampler.stderr, /^sluice: OTEL_TRACES_SAMPLER=jaeger_remote is not supported by Sluice — use one of /m);
      assert.doesNotMatch(sampler.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      delete process.env.OTEL_TRACES_SAMPLER;
    }
  });
});
