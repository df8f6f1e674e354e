import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { Instrumentation } from '../../../core/instrumentation.ts';
import { LifecycleMetrics } from '../../../runtime/telemetry/lifecycleMetrics.ts';

describe('model lifecycle metrics', () => {
  it('exports swaps, refusals and the serving version under the names the alert rules use', async () => {
    const instrumentation = new Instrumentation();
    const registry = new Registry();
    new LifecycleMetrics([registry]).subscribe(instrumentation);
    instrumentation.emit('model.swapped', { stage: 'infer', model: 'fraud', version: 'fraud@1', from: undefined });
    instrumentation.emit('model.refused', { stage: 'infer', model: 'fraud', version: 'fraud@3', reasons: ['NaN'] });
    instrumentation.emit('model.swapped', { stage: 'infer', model: 'fraud', version: 'fraud@2', from: 'fraud@1' });
    instrumentation.emit('model.swapped', { stage: 'infer', model: 'fraud', version: 'fraud@1', from: 'fraud@2' });
    const text = await registry.metrics();
    assert.match(text, /^sluice_model_refused_total\{model="fraud",version="3"\} 1$/m);
    assert.match(text, /^sluice_model_swaps_total\{model="fraud",version="2"\} 1$/m);
    assert.match(text, /^sluice_model_swaps_total\{model="fraud",version="1"\} 1$/m, 'the rollback counts; the first load does not');
    assert.match(text, /^sluice_model_active_version\{model="fraud"\} 1$/m);
  });

  it('keeps the largest shadow delta and counts skipped and failed shadow batches apart', async () => {
    const instrumentation = new Instrumentation();
    const registry = new Registry();
    new LifecycleMetrics([registry]).subscribe(instrumentation);
    const base = { stage: 'infer', model: 'fraud@1', shadow: 'fraud@2', error: undefined, skipped: false };
    instrumentation.emit('shadow.compared', { ...base, records: 3, flips: 1, deltas: Float32Array.from([0.5, 0.25, 0]), durationMs: 4 });
    instrumentation.emit('shadow.compared', { ...base, records: 1, flips: 0, deltas: Float32Array.from([0.125]), durationMs: 2 });
    instrumentation.emit('shadow.compared', { ...base, records: 5, flips: 0, deltas: undefined, durationMs: 0, skipped: true });
    instrumentation.emit('shadow.compared', { ...base, records: 2, flips: 0, deltas: undefined, durationMs: 1, error: 'boom' });
    const text = await registry.metrics();
    assert.match(text, /^sluice_shadow_score_delta_max\{model="fraud@1",shadow="fraud@2"\} 0.5$/m);
    assert.match(text, /^sluice_shadow_score_delta_sum\{model="fraud@1",shadow="fraud@2"\} 0.875$/m);
    assert.match(text, /^sluice_shadow_flips_total\{model="fraud@1",shadow="fraud@2"\} 1$/m);
    assert.match(text, /^sluice_shadow_records_total\{model="fraud@1",shadow="fraud@2"\} 4$/m);
    assert.match(text, /^sluice_shadow_skipped_records_total\{model="fraud@1"\} 5$/m);
    assert.match(text, /^sluice_shadow_errors_total\{model="fraud@1",shadow="fraud@2"\} 1$/m);
    assert.match(text, /^sluice_shadow_latency_seconds_count\{model="fraud@1",shadow="fraud@2"\} 2$/m);
  });
});
