import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTelemetry } from '../../../runtime/telemetry/telemetry.ts';
import { driveSource, finishRecords, records } from './sourceDriver.ts';

const SECRETS = ['s3cret-pw', 'tok3n-value', 'k3y-value'];
const saved = { ...process.env };
let port: number;

/** A port nothing listens on: the export fails, so the failure lines are printed too. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return free;
}

before(async () => {
  port = await closedPort();
  // The OpenTelemetry exporter reads process.env itself.
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://collector-user:s3cret-pw@127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20tok3n-value,x-api-key=k3y-value',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '10',
  });
  delete process.env.OTEL_SDK_DISABLED;
  delete process.env.OTEL_TRACES_EXPORTER;
});

after(() => {
  process.env = saved;
});

describe('telemetry output', () => {
  it('never prints the password of the OTLP endpoint or the values of its headers', async (t) => {
    const printed: string[] = [];
    // Anything written to stderr or stdout meanwhile (the SDK's own complaints included) counts.
    const writes = { out: process.stdout.write, err: process.stderr.write };
    const capture = (stream: NodeJS.WriteStream, original: typeof process.stdout.write) =>
      ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        printed.push(String(chunk));
        return (original as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean).call(stream, chunk, ...rest);
      }) as typeof process.stdout.write;
    process.stdout.write = capture(process.stdout, writes.out);
    process.stderr.write = capture(process.stderr, writes.err);
    t.after(() => {
      process.stdout.write = writes.out;
      process.stderr.write = writes.err;
    });

    const telemetry = await startTelemetry({ jobName: 'redaction', traceSample: 1, metricsPort: 0, flushTimeoutMs: 3000, warn: (line) => printed.push(line) });
    const lines = telemetry.describe();
    printed.push(...lines);
    finishRecords(telemetry.instrumentation, await driveSource(telemetry, records(50)));
    await telemetry.stop();
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;

    assert.equal(lines[0], `tracing: every record (or as the upstream traceparent says) → http://collector-user:***@127.0.0.1:${port}/v1/traces (otlp http/json, headers Authorization=***,x-api-key=***)`);
    assert.ok(printed.some((line) => /could not be exported/.test(line)), `the failed export was reported: ${printed.join(' | ')}`);
    for (const secret of SECRETS) {
      const leaks = printed.filter((line) => line.includes(secret));
      assert.deepEqual(leaks, [], `${secret} was printed`);
    }
  });
});
