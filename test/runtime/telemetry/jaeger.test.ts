/**
 * The fraud job's traces in a real Jaeger v2, read back through Jaeger's own query API: one
 * trace per sampled record, a span per stage, and each record's batch wait linked to the
 * inference span of its batch. Jaeger is built from source by test/kit/jaeger/build-jaeger.sh
 * (about ten minutes on two cores, so CI does not build it: see docs/observability.md); this
 * test runs when the binary is there and is skipped otherwise. The OTLP wire format itself is
 * checked on every run by the in-test receiver (tracing.test.ts, kafkaTrace.test.ts).
 *
 *   sh test/kit/jaeger/build-jaeger.sh && flock /tmp/heavy.lock npx tsx --test test/runtime/telemetry/jaeger.test.ts
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { eventually, eventuallyValue } from '../../kit/eventually.ts';
import { freePorts } from '../../kit/kafkaPorts.ts';
import { killAllSluice, spawnSluice } from '../../kit/sluiceProcess.ts';

const JAEGER = process.env.JAEGER_BIN ?? join(process.env.SLUICE_JAEGER_CACHE ?? join(homedir(), '.cache', 'sluice-jaeger'), 'v1.76.0', 'jaeger');
const CONFIG = fileURLToPath(new URL('../../kit/jaeger/config.yaml', import.meta.url));
const RECORDS = 300;

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }>;
}

describe('the fraud job traced into a real Jaeger v2', { skip: existsSync(JAEGER) ? false : `no Jaeger binary at ${JAEGER}: build it with sh test/kit/jaeger/build-jaeger.sh` }, () => {
  let jaeger: ChildProcess;
  let query: string;
  let traces: Array<{ traceID: string; spans: JaegerSpan[] }> = [];

  before(async () => {
    const [otlp, http, grpc] = await freePorts(3);
    jaeger = spawn(JAEGER, ['--config', CONFIG], {
      env: { ...process.env, JAEGER_OTLP_HTTP_PORT: String(otlp), JAEGER_QUERY_HTTP_PORT: String(http), JAEGER_QUERY_GRPC_PORT: String(grpc) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    jaeger.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    query = `http://127.0.0.1:${http}`;
    await eventually(
      'Jaeger to answer its query API',
      async () => {
        assert.equal(jaeger.exitCode, null, `Jaeger did not start:\n${log}`);
        return fetch(`${query}/api/services`).then((r) => r.ok, () => false);
      },
      { timeoutMs: 20_000, everyMs: 200, detail: () => log },
    );

    const job = spawnSluice(
      ['run', 'jobs/fraud-detection.ts', '--parallelism', '1', '--workers', '1', '--set', `count=${RECORDS}`, '--trace-sample', '1', '--output', 'decisions=none', '--no-progress', '--no-typecheck'],
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp}`, OTEL_BSP_SCHEDULE_DELAY: '100' } },
    );
    const exit = await job.exited;
    assert.equal(exit.code, 0, job.stderr());
    // Jaeger's batch processor hands spans to storage within 200 ms.
    const stored = async () => {
      const body = (await (await fetch(`${query}/api/traces?service=fraud-detection&limit=${RECORDS * 2}&lookback=1h`)).json()) as { data: Array<{ traceID: string; spans: JaegerSpan[] }> };
      return body.data ?? [];
    };
    traces = await eventuallyValue(`${RECORDS} traces in Jaeger`, stored, (found) => found.length >= RECORDS, {
      timeoutMs: 15_000,
      everyMs: 300,
      detail: (found) => `${found.length} traces`,
    });
  });

  after(async () => {
    await killAllSluice();
    if (jaeger !== undefined && jaeger.exitCode === null) {
      jaeger.kill('SIGTERM');
      await new Promise((resolve) => jaeger.once('exit', resolve));
    }
  });

  it('holds one trace per sampled record (all of them at --trace-sample 1)', () => {
    assert.equal(traces.length, RECORDS);
  });

  it('gives every trace a span per stage: consume, features, batch wait, decision, the sink write', () => {
    for (const trace of traces) {
      const names = new Set(trace.spans.map((span) => span.operationName));
      for (const stage of ['consume transactions', 'features', 'batch wait', 'decision', 'produce none']) assert.ok(names.has(stage), `trace ${trace.traceID} lacks ${stage}: ${[...names].join(', ')}`);
    }
  });

  it('links each batch wait to the inference span of its batch', () => {
    const inference = new Map<string, JaegerSpan>();
    for (const trace of traces) for (const span of trace.spans) if (span.operationName.startsWith('inference')) inference.set(span.spanID, span);
    assert.ok(inference.size > 0, 'inference spans exist');
    assert.ok(inference.size < RECORDS, `one inference span per batch, not per record (${inference.size})`);
    for (const trace of traces) {
      const wait = trace.spans.find((span) => span.operationName === 'batch wait')!;
      const links = wait.references.filter((ref) => ref.refType === 'FOLLOWS_FROM');
      assert.equal(links.length, 1, `batch wait of ${trace.traceID}: ${JSON.stringify(wait.references)}`);
      assert.ok(inference.has(links[0]!.spanID), `the link of ${trace.traceID} points at an inference span Jaeger holds`);
    }
  });
});
