import type { Source, SourceContext } from '../../../core/job.ts';
import type { SourceRecord } from '../../../core/record.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { threadId } from 'node:worker_threads';
import { collectSink } from '../../../connectors/collectSink.ts';
import { InferencePool } from '../../../runtime/inferencePool.ts';
import { startTelemetry } from '../../../runtime/telemetry/telemetry.ts';
import { startJob, transactions, type Decision, type Tx } from './kit.ts';
import { receiveTracesInThisFile } from './otlpReceiver.ts';

const otlp = receiveTracesInThisFile();

/** Emits a few records at a time with pauses between, as a quiet topic does: the pool is often idle. */
function pacedSource(records: SourceRecord<Tx>[]): Source<Tx> {
  return {
    name: 'test-input',
    async run(ctx: SourceContext<Tx>) {
      for (let i = 0; i < records.length; i += 1) {
        if (ctx.signal.aborted) return;
        await ctx.emit(records[i]!);
        if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 3));
      }
    },
  };
}

describe('inference spans of batches scored on the job thread', () => {
  it('name the thread that scored each batch: the job thread, or an inference worker', async () => {
    const pool = new InferencePool({ workers: 1, inlineMs: 1000 });
    const telemetry = await startTelemetry({ jobName: 'telemetry-test', traceSample: 1, metricsPort: 0, metricsHost: '127.0.0.1' });
    try {
      const sink = collectSink<Decision>();
      const { running } = startJob(telemetry.instrumentSources({ tx: pacedSource(transactions(600)) as Source<unknown> }).tx!, sink, pool, telemetry.instrumentation);
      telemetry.attach(running);
      assert.equal((await running.done).out, 600);
    } finally {
      await telemetry.stop();
      await pool.close();
    }
    const inference = otlp.receiver.spans.filter((span) => span.name === 'inference fraud-v1.onnx');
    const here = inference.filter((span) => span.attributes['thread.id'] === threadId);
    const workers = inference.filter((span) => span.attributes['thread.id'] !== threadId);
    assert.ok(here.length > 0, 'no batch was scored on the job thread');
    assert.ok(workers.length > 0, 'no batch was scored on a worker (the first of each size is)');
    for (const span of here) assert.equal(span.attributes['thread.name'], 'job');
    for (const span of workers) assert.equal(span.attributes['thread.name'], `inference-worker-${String(span.attributes['thread.id'])}`);
  });
});
