import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { defineJob, input, output } from '../../core/index.ts';
import type { Manifest } from '../../runtime/models/index.ts';
import { driftMonitor, type DriftReport } from '../../operators/index.ts';
import { DriftCounts } from '../../operators/monitoring/driftCounts.ts';
import { driftColumns } from '../../runtime/models/index.ts';
import { testDriver } from '../../runtime/testing/index.ts';
import { fraudManifest, sampler, tinyManifest } from './monitoring/fixtures.ts';

interface Row {
  features: number[];
  score: number;
}

const rowSchema = z.object({ features: z.array(z.number()), score: z.number() });

function monitoredJob(reference: Manifest, reports: DriftReport[], options: { windowMs?: number; minRecords?: number; warmupMs?: number; thresholds?: { psi?: number; columns?: Record<string, number> } } = {}) {
  return defineJob({
    name: 'drift-test',
    inputs: { rows: input('rows', rowSchema) },
    outputs: { rows: output<Row>('rows-out') },
    pipeline: ({ rows }) =>
      rows.pipe(
        driftMonitor({
          reference,
          windowMs: options.windowMs ?? 60_000,
          features: (row) => row.features,
          score: (row) => row.score,
          onWindow: (report) => reports.push(report),
          ...(options.minRecords === undefined ? {} : { minRecords: options.minRecords }),
          ...(options.warmupMs === undefined ? {} : { warmupMs: options.warmupMs }),
          ...(options.thresholds === undefined ? {} : { thresholds: options.thresholds }),
        }),
      ),
  });
}

const half = { edges: [0], proportions: [0.5, 0.5] };
const mostlyLow = { edges: [0.5], proportions: [0.8, 0.2] };

describe('driftMonitor', () => {
  it('reports the hand-computed PSI and KS of a small window on virtual time, and passes records through unchanged', async () => {
    const reports: DriftReport[] = [];
    const driver = await testDriver(monitoredJob(tinyManifest(half, mostlyLow), reports));
    const rows: Row[] = [];
    // a: 80 below the edge, 20 above, against 50/50; the score: 80/20 exactly as the reference.
    for (let i = 0; i < 100; i++) rows.push({ features: [i < 80 ? -1 : 1], score: i < 80 ? 0.1 : 0.9 });
    driver.inputs.rows.pipeAll(rows);
    assert.deepEqual(await driver.outputs.rows.read(), rows);
    assert.equal(reports.length, 0, 'nothing reported before the window ends');
    await driver.advanceTime('1m');
    assert.equal(reports.length, 1);
    const [report] = reports;
    // (0.8 - 0.5) ln(0.8/0.5) + (0.2 - 0.5) ln(0.2/0.5) = 0.3 ln 1.6 + 0.3 ln 2.5 = 0.41589
    assert.ok(Math.abs(report!.features[0]!.psi - (0.3 * Math.log(1.6) + 0.3 * Math.log(2.5))) < 1e-9, `PSI of a is ${report!.features[0]!.psi}`);
    assert.ok(Math.abs(report!.features[0]!.ks - 0.3) < 1e-12);
    assert.equal(report!.score.psi, 0);
    assert.equal(report!.score.ks, 0);
    assert.equal(report!.records, 100);
    assert.equal(report!.model, 'tiny@3');
    assert.deepEqual(report!.drifted, ['a']);
    assert.equal(report!.end - report!.start, 60_000);
    await driver.close();
  });

  it('starts each window empty: a window without rows reports NaN and nothing drifted', async () => {
    const reports: DriftReport[] = [];
    const driver = await testDriver(monitoredJob(tinyManifest(half, mostlyLow), reports, { minRecords: 10 }));
    driver.inputs.rows.pipeAll(Array.from({ length: 5 }, () => ({ features: [-1], score: 0.1 })));
    await driver.outputs.rows.read();
    await driver.advanceTime('1m');
    await driver.advanceTime('1m');
    assert.equal(reports.length, 2);
    assert.equal(reports[0]!.records, 5);
    assert.ok(reports[0]!.features[0]!.psi > 0.2, 'all in one bin is a shift');
    assert.deepEqual(reports[0]!.drifted, [], 'but 5 rows are below minRecords');
    assert.equal(reports[1]!.records, 0);
    assert.ok(Number.isNaN(reports[1]!.features[0]!.psi));
    assert.equal(reports[1]!.start, reports[0]!.end);
    await driver.close();
  });

  it('a stream drawn from the fraud reference has PSI ~0 on every column; shifting one feature drifts that feature only', async () => {
    const columns = driftColumns(fraudManifest);
    const draw = sampler(11);
    const rows: Row[] = [];
    for (let i = 0; i < 5000; i++) {
      const values = columns.map((column) => draw(column.reference));
      rows.push({ features: values.slice(0, -1), score: values.at(-1)! });
    }
    const reports: DriftReport[] = [];
    const driver = await testDriver(monitoredJob(fraudManifest, reports));
    driver.inputs.rows.pipeAll(rows);
    await driver.outputs.rows.read();
    await driver.advanceTime('1m');
    // amount_log shifted up by two units: most rows land in the top bin.
    const amount = fraudManifest.features.indexOf('amount_log');
    driver.inputs.rows.pipeAll(rows.map((row) => ({ ...row, features: row.features.map((v, i) => (i === amount ? v + 2 : v)) })));
    await driver.outputs.rows.read();
    await driver.advanceTime('1m');
    await driver.close();

    const [same, shifted] = reports;
    for (const column of [...same!.features, same!.score]) assert.ok(column.psi < 0.01, `${column.name}: PSI ${column.psi} of a sample of the reference`);
    assert.deepEqual(same!.drifted, []);
    assert.equal(same!.model, 'fraud@1');
    const amountPsi = shifted!.features[amount]!.psi;
    assert.ok(amountPsi > 0.2, `shifted amount_log: PSI ${amountPsi}`);
    assert.ok(shifted!.features[amount]!.ks > 0.3);
    assert.deepEqual(shifted!.drifted, ['amount_log']);
  });

  it('per-column thresholds decide what counts as drifted', async () => {
    const reports: DriftReport[] = [];
    const driver = await testDriver(monitoredJob(tinyManifest(half, mostlyLow), reports, { thresholds: { psi: 0.2, columns: { a: 0.5 } } }));
    driver.inputs.rows.pipeAll(Array.from({ length: 100 }, (_, i) => ({ features: [i < 80 ? -1 : 1], score: 0.1 })));
    await driver.outputs.rows.read();
    await driver.advanceTime('1m');
    await driver.close();
    assert.deepEqual(reports[0]!.drifted, ['score'], 'a (PSI 0.42) is under its own 0.5; the score (all low) is over 0.2');
    assert.throws(() => driftMonitor({ reference: tinyManifest(half, mostlyLow), windowMs: 1000, features: (r: Row) => r.features, score: (r: Row) => r.score, thresholds: { columns: { b: 0.3 } } }), /drift threshold for b: the model has no such column/);
  });

  it('does not count the warm-up: rows within warmupMs of event time after the first one', async () => {
    const reports: DriftReport[] = [];
    const driver = await testDriver(monitoredJob(tinyManifest(half, mostlyLow), reports, { warmupMs: 3600_000 }));
    const start = Date.UTC(2025, 5, 1);
    for (let i = 0; i < 6; i++) driver.inputs.rows.pipe({ features: [-1], score: 0.1 }, { timestamp: start + i * 600_000 }); // 0..50 min
    for (let i = 0; i < 4; i++) driver.inputs.rows.pipe({ features: [1], score: 0.9 }, { timestamp: start + 3600_000 + i });
    assert.equal((await driver.outputs.rows.read()).length, 10, 'every record passes, warm-up or not');
    await driver.advanceTime('1m');
    await driver.close();
    assert.equal(reports[0]!.records, 4);
    assert.equal(reports[0]!.features[0]!.ks, 0.5, 'only the four rows above the edge were counted');
  });

  it('closes the partial window at the real end of the input', async () => {
    const reports: DriftReport[] = [];
    const driver = await testDriver(monitoredJob(tinyManifest(half, mostlyLow), reports));
    driver.inputs.rows.pipeAll(Array.from({ length: 7 }, () => ({ features: [1], score: 0.9 })));
    await driver.outputs.rows.read();
    await driver.close();
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.records, 7);
  });

  it('counts per partition: a snapshot restores the same report, and one partition can be snapshotted alone', () => {
    const columns = driftColumns(tinyManifest(half, mostlyLow));
    const counts = new DriftCounts(columns, {}, 0);
    for (let i = 0; i < 30; i++) counts.add(i % 3 === 0 ? 'rows/1' : 'rows/0', [i % 2 === 0 ? -1 : 1, i / 30]);
    const saved = counts.snapshot();
    assert.deepEqual(Object.keys(counts.snapshot(['rows/1'])), ['rows/1']);
    const restored = new DriftCounts(columns, {}, 0);
    restored.restore(JSON.parse(JSON.stringify(saved)) as typeof saved);
    assert.deepEqual(restored.close('m', 0, 1), counts.close('m', 0, 1));
    restored.restore(saved);
    restored.dropScope('rows/1');
    assert.equal(restored.close('m', 0, 1).records, 20);
  });
});
