import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { generatorSource } from '../../../connectors/generatorSource.ts';
import { defineJob, input, output } from '../../../core/index.ts';
import { Instrumentation } from '../../../core/instrumentation.ts';
import { driftMonitor, intervalJoin, onlineAccuracy } from '../../../operators/index.ts';
import { JobMetrics } from '../../../runtime/telemetry/jobMetrics.ts';
import { driftSpanAttributes } from '../../../runtime/telemetry/modelMetrics.ts';
import { tee } from '../../../operators/monitoring/tee.ts';
import { startTestJob } from '../../kit/jobs.ts';
import { tinyManifest } from '../../operators/monitoring/fixtures.ts';
import { parsePrometheusText } from './prometheusText.ts';

const T0 = Date.UTC(2026, 0, 1);
const decisionSchema = z.object({ id: z.string(), time: z.number(), a: z.number(), score: z.number() });
const labelSchema = z.object({ id: z.string(), time: z.number(), isFraud: z.boolean() });
type Decision = z.infer<typeof decisionSchema>;

const job = defineJob({
  name: 'model-metrics-test',
  inputs: { decisions: input('decisions', decisionSchema), labels: input('labels', labelSchema) },
  outputs: { decisions: output<Decision>('decisions-out'), labelled: output<{ score: number; isFraud: boolean }>('labelled') },
  pipeline: ({ decisions, labels }) => {
    const [toOutput, toJoin] = tee(decisions);
    const monitored = toOutput.pipe(
      driftMonitor({ reference: tinyManifest({ edges: [0], proportions: [0.5, 0.5] }, { edges: [0.5], proportions: [0.8, 0.2] }), windowMs: 3_600_000, features: (d) => [d.a], score: (d) => d.score }),
    );
    return {
      decisions: monitored,
      labelled: toJoin.pipe(
        intervalJoin(labels, { lowerMs: 0, upperMs: 3_600_000, key: { left: (d) => d.id, right: (l) => l.id }, time: { left: (d) => d.time, right: (l) => l.time }, join: (d, l) => ({ score: d.score, isFraud: l.isFraud }) }),
        onlineAccuracy({ model: 'tiny@3', threshold: 0.5, windowMs: 3_600_000, score: (p) => p.score, label: (p) => p.isFraud }),
      ),
    };
  },
});

describe('model metrics on a scrape', () => {
  it('exports the drift and online-accuracy gauges the alert rules name, with the values of the windows', async () => {
    const instrumentation = new Instrumentation();
    const metrics = new JobMetrics({ jobName: 'model-metrics-test', defaultMetrics: false });
    metrics.subscribe(instrumentation);
    const events: Parameters<typeof driftSpanAttributes>[0][] = [];
    instrumentation.on('drift.window', (e) => events.push(e));
    // 100 decisions: a is 80 % below its edge (PSI 0.416), scores 0.9 for even ids; every label arrives, fraud for ids divisible by 4.
    const decision = (i: number): Decision => ({ id: `tx-${i}`, time: T0 + i * 1000, a: i < 80 ? -1 : 1, score: i % 2 === 0 ? 0.9 : 0.1 });
    const { running } = startTestJob(job, {
      sources: {
        decisions: generatorSource({ name: 'decisions', count: 100, make: decision }),
        labels: generatorSource({ name: 'labels', count: 100, make: (i) => ({ id: `tx-${99 - i}`, time: T0 + (99 - i) * 1000 + 60_000, isFraud: (99 - i) % 4 === 0 }) }),
      },
      engine: { instrumentation },
    });
    const stats = await running.done;
    assert.equal(stats.deadLettered, 0);
    const scrape = parsePrometheusText(await metrics.registry.metrics());
    const jobLabel = { sluice_job: 'model-metrics-test' };
    assert.equal(scrape.types.get('sluice_feature_drift_psi'), 'gauge');
    assert.ok(Math.abs(scrape.value('sluice_feature_drift_psi', { ...jobLabel, model: 'tiny@3', feature: 'a' }) - (0.3 * Math.log(1.6) + 0.3 * Math.log(2.5))) < 1e-9);
    assert.ok(Math.abs(scrape.value('sluice_feature_drift_ks', { model: 'tiny@3', feature: 'a' }) - 0.3) < 1e-9);
    // Scores: 50 % above 0.5 against 20 %: (0.5-0.8) ln(0.5/0.8) + (0.5-0.2) ln(0.5/0.2)
    assert.ok(Math.abs(scrape.value('sluice_score_drift_psi', { model: 'tiny@3' }) - (0.3 * Math.log(1.6) + 0.3 * Math.log(2.5))) < 1e-9);
    assert.ok(Math.abs(scrape.value('sluice_score_drift_ks', { model: 'tiny@3' }) - 0.3) < 1e-9);
    assert.equal(scrape.value('sluice_drift_window_records', { model: 'tiny@3' }), 100);
    // Flagged = even ids (50); fraud = ids divisible by 4 (25), all flagged: precision 0.5, recall 1;
    // AUC: each fraud (0.9) beats the 50 odd ids (0.1) and ties the 25 other even ones: (50 + 25/2) / 75 = 5/6.
    assert.equal(scrape.value('sluice_online_labelled_records', { model: 'tiny@3' }), 100);
    assert.equal(scrape.value('sluice_online_precision', { model: 'tiny@3' }), 0.5);
    assert.equal(scrape.value('sluice_online_recall', { model: 'tiny@3' }), 1);
    assert.ok(Math.abs(scrape.value('sluice_online_auc', { model: 'tiny@3' }) - 5 / 6) < 1e-12);
    assert.equal(events.length, 1);
    const attributes = driftSpanAttributes(events[0]!);
    assert.equal(attributes['sluice.model'], 'tiny@3');
    assert.equal(attributes['sluice.drift.drifted'], 'a,score');
    assert.equal(attributes['sluice.drift.score.ks'], scrape.value('sluice_score_drift_ks', { model: 'tiny@3' }));
  });
});
