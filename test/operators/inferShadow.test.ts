import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { InferencePool } from '../../runtime/inferencePool.ts';
import { LifecycleMetrics } from '../../runtime/telemetry/lifecycleMetrics.ts';
import { eventually } from '../kit/eventually.ts';
import { runTestJob } from '../kit/jobs.ts';
import { items, recording, registryWithV1, scoringJob, writeVersion, type Scored } from '../runtime/models/liveKit.ts';
import { FIXTURE_MODELS } from '../runtime/models/registryKit.ts';

describe('infer shadow scoring', () => {
  const registry = registryWithV1();
  // fraud@2 is a candidate with other weights: its scores differ, so decisions would flip.
  writeVersion(registry.dir, 2, { model: join(FIXTURE_MODELS, 'random-weights.onnx') });
  const pool = new InferencePool({ workers: 2, models: { log: () => {}, pollMs: 60_000, pinPollMs: 60_000 } });
  after(async () => {
    await pool.close();
    registry.remove();
  });

  it('never changes a decision: outputs equal a run without shadow, and agreement goes to the shadow metrics', async () => {
    const count = 3000;
    const plain = await runTestJob(scoringJob({ model: `${registry.dir}@1` }), { sources: items(count), inference: pool });
    const { instrumentation, seen } = recording('shadow.compared');
    const metrics = new Registry();
    new LifecycleMetrics([metrics]).subscribe(instrumentation);
    const shadowed = await runTestJob(scoringJob({ model: `${registry.dir}@1`, shadow: `${registry.dir}@next`, shadowThreshold: 0.5 }), {
      sources: items(count),
      inference: pool,
      engine: { instrumentation },
    });

    const bySeq = (values: Scored[]) => new Map(values.map((s) => [s.item.seq, s.prediction]));
    const without = bySeq(plain.outputs.scored!.values as Scored[]);
    const withShadow = bySeq(shadowed.outputs.scored!.values as Scored[]);
    assert.equal(withShadow.size, count);
    for (const [seq, prediction] of without) assert.deepEqual(withShadow.get(seq), prediction, `record ${seq}`);
    assert.ok([...withShadow.values()].every((p) => p.modelVersion === 'fraud@1'), 'the serving version scored every record');

    const events = seen['shadow.compared'];
    // Shadow batches never hold the output back, so the last comparisons may land after the job ended.
    const comparedOrSkipped = () => events.reduce((n, e) => n + e.records, 0);
    await eventually('every batch compared or counted as skipped', () => comparedOrSkipped() >= count, {
      timeoutMs: 10_000,
      everyMs: 20,
      detail: () => `${comparedOrSkipped()} of ${count} records; first error: ${events.find((e) => e.error)?.error ?? 'none'}`,
    });
    const compared = events.filter((e) => !e.skipped && e.error === undefined);
    assert.equal(events.filter((e) => e.error !== undefined).length, 0, events.find((e) => e.error)?.error);
    assert.equal(comparedOrSkipped(), count, 'every batch compared or counted as skipped');
    assert.ok(compared.length > 0);
    assert.ok(compared.every((e) => e.model === 'fraud@1' && e.shadow === 'fraud@2'));
    const flips = compared.reduce((n, e) => n + e.flips, 0);
    assert.ok(flips > 0, 'random weights disagree with the trained model at 0.5');
    const maxDelta = Math.max(...compared.map((e) => Math.max(...e.deltas!)));
    assert.ok(maxDelta > 0.1 && maxDelta <= 1, `max |delta| ${maxDelta}`);

    const text = await metrics.metrics();
    assert.match(text, new RegExp(`sluice_shadow_flips_total\\{model="fraud@1",shadow="fraud@2"\\} ${flips}\\n`));
    const comparedRecords = compared.reduce((n, e) => n + e.records, 0);
    assert.match(text, new RegExp(`sluice_shadow_score_delta_count\\{model="fraud@1",shadow="fraud@2"\\} ${comparedRecords}\\n`));
    assert.match(text, new RegExp(`sluice_shadow_latency_seconds_count\\{model="fraud@1",shadow="fraud@2"\\} ${compared.length}\\n`));
  });
});
