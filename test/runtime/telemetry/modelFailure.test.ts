import type { Source } from '../../../core/job.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelError } from '../../../core/errors.ts';
import type { InferenceService } from '../../../core/inference.ts';
import { collectSink } from '../../../connectors/collectSink.ts';
import { startTelemetry } from '../../../runtime/telemetry/telemetry.ts';
import { listSource, startJob, transactions, type Decision } from './kit.ts';
import { receiveTracesInThisFile } from './otlpReceiver.ts';
import { parsePrometheusText } from './prometheusText.ts';

/** A model service whose every batch fails, as a broken or timed-out model does. */
const failing: InferenceService = {
  workers: 1,
  model: (path) => ({
    path,
    run: () => Promise.reject(new ModelError(`model ${path} failed: input width 10 does not match 12`)),
  }),
};

const otlp = receiveTracesInThisFile();

describe('a failing model, seen in traces and metrics', () => {
  const COUNT = 100;

  it('marks the batch\'s inference span as an error, dead-letters its records, and counts errors and fallbacks', async () => {
    const telemetry = await startTelemetry({ jobName: 'telemetry-test', traceSample: 1, metricsPort: 0, metricsHost: '127.0.0.1' });
    const sink = collectSink<Decision>();
    const { running } = startJob(telemetry.instrumentSources({ tx: listSource(transactions(COUNT)) as Source<unknown> }).tx!, sink, failing, telemetry.instrumentation);
    telemetry.attach(running);
    const stats = await running.done;
    const metrics = parsePrometheusText(await (await fetch(telemetry.metricsServer!.url)).text());
    await telemetry.stop();

    // Every record still goes out, with the fallback score, and also to the dead-letter sink.
    assert.equal(stats.out, COUNT);
    assert.equal(stats.deadLettered, COUNT);
    const labels = { stage: 'infer', model: 'fraud-v1.onnx' };
    const batches = metrics.value('sluice_inference_batches_total', labels);
    assert.ok(batches >= COUNT / 32);
    assert.equal(metrics.value('sluice_inference_errors_total', labels), batches);
    assert.equal(metrics.value('sluice_inference_fallbacks_total', labels), COUNT);
    assert.equal(metrics.value('sluice_dead_letters_total', { stage: 'infer' }), COUNT);
    assert.equal(metrics.find('sluice_model_score_count').reduce((sum, s) => sum + s.value, 0), 0, 'fallback scores are not model scores');

    const inference = otlp.receiver.spans.filter((span) => span.name === 'inference fraud-v1.onnx');
    assert.equal(inference.length, batches);
    for (const span of inference) {
      assert.equal(span.status.code, 2 /* ERROR */);
      assert.match(span.status.message ?? '', /input width 10 does not match 12/);
      assert.equal(span.attributes['thread.id'], undefined, 'no worker reported, so no thread is claimed');
      assert.equal(span.attributes['sluice.model.version'], 'unknown');
    }
    const deadLetters = otlp.receiver.spans.filter((span) => span.name === 'dead-letter');
    assert.equal(deadLetters.length, COUNT);
    assert.ok(deadLetters.every((span) => span.attributes['sluice.stage'] === 'infer'));
    // The record went on with the fallback: its trace has a decision and a produce span too.
    assert.equal(otlp.receiver.spans.filter((span) => span.name === 'produce collect').length, COUNT);
  });
});
