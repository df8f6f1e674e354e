import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { FileCheckpointStore } from '../../core/checkpoint/fileCheckpointStore.ts';
import { defineJob, input, output } from '../../core/index.ts';
import { driftMonitor, onlineAccuracy, type AccuracyReport, type DriftReport } from '../../operators/index.ts';
import { eventually } from '../kit/eventually.ts';
import { startTestJob } from '../kit/jobs.ts';
import { tinyManifest } from './monitoring/fixtures.ts';

const COUNT = 4000;
const row = z.object({ i: z.number(), a: z.number(), score: z.number(), isFraud: z.boolean() });
type Row = z.infer<typeof row>;

function monitoringJob(drift: DriftReport[], accuracy: AccuracyReport[]) {
  return defineJob({
    name: 'monitoring-restart-test',
    inputs: { rows: input('rows', row) },
    outputs: { rows: output<Row>('rows-out') },
    pipeline: ({ rows }) =>
      rows.pipe(
        // Hour-long windows: none closes during the test, so only the end of the input reports.
        driftMonitor({ reference: tinyManifest({ edges: [0], proportions: [0.5, 0.5] }, { edges: [0.5], proportions: [0.5, 0.5] }), windowMs: 3_600_000, features: (r) => [r.a], score: (r) => r.score, onWindow: (r) => drift.push(r) }),
        onlineAccuracy({ model: 'tiny@3', threshold: 0.5, windowMs: 3_600_000, score: (r) => r.score, label: (r) => r.isFraud, onWindow: (r) => accuracy.push(r) }),
      ),
  });
}

const make = (i: number): Row => ({ i, a: i % 4 === 0 ? 1 : -1, score: i % 3 === 0 ? 0.9 : 0.1, isFraud: i % 6 === 0 });

describe('driftMonitor and onlineAccuracy across a stop and restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-monitoring-restart-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the open windows come back from the checkpoint: the final report counts every row once', async () => {
    const drift: DriftReport[] = [];
    const accuracy: AccuracyReport[] = [];
    const store = () => new FileCheckpointStore({ directory: dir, log: () => {} });
    const first = startTestJob(monitoringJob(drift, accuracy), { sources: { rows: generatorSource({ name: 'rows', count: COUNT, make, ratePerSecond: 4000, partitions: 2 }) }, engine: { checkpoints: { store: store(), intervalMs: 50, log: () => {} } } });
    await eventually('800 rows out', () => first.outputs.rows!.records.length >= 800, { everyMs: 10 });
    first.running.stop();
    await first.running.done;
    assert.deepEqual([drift.length, accuracy.length], [0, 0], 'a resumable stop keeps the open windows instead of reporting them');

    const second = startTestJob(monitoringJob(drift, accuracy), { sources: { rows: generatorSource({ name: 'rows', count: COUNT, make, partitions: 2 }) }, engine: { checkpoints: { store: store(), intervalMs: 50, log: () => {} } } });
    const stats = await second.running.done;
    assert.ok(stats.skipped > 0, 'the restart skipped rows the checkpoint holds');
    assert.equal(drift.length, 1);
    assert.equal(drift[0]!.records, COUNT, 'every row counted once across the two runs');
    // a: a quarter of the rows above the edge against half; the score: a third above 0.5 against half.
    assert.ok(Math.abs(drift[0]!.features[0]!.ks - 0.25) < 1e-12);
    assert.ok(Math.abs(drift[0]!.score.ks - (0.5 - Math.floor((COUNT - 1) / 3 + 1) / COUNT)) < 1e-12);
    assert.equal(accuracy.length, 1);
    const { result } = accuracy[0]!;
    assert.equal(result.count, COUNT);
    // Fraud = multiples of 6, all scored 0.9: recall 1; flagged = multiples of 3: precision 1/2 (up to the last partial block).
    assert.equal(result.recall, 1);
    assert.equal(result.truePositives, Math.floor((COUNT - 1) / 6) + 1);
    assert.equal(result.truePositives + result.falsePositives, Math.floor((COUNT - 1) / 3) + 1);
  });
});
