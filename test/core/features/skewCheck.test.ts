import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { featuresBackfill, featuresCheck, featuresTrainingSet, skewCheck, streamingUpdater, type SkewReport } from '../../../core/features/index.ts';
import { fraudFeatures, fraudFeatureView } from '../../../jobs/fraud/featureView.ts';
import { FEATURE_NAMES } from '../../../jobs/fraud/features.ts';
import { TransactionGenerator, type Transaction } from '../../../jobs/fraud/transactions.ts';

function transactions(count: number, seed: number): Transaction[] {
  const gen = new TransactionGenerator({ seed });
  return Array.from({ length: count }, () => gen.next());
}

const txs = transactions(20_000, 42);
const stream = streamingUpdater(fraudFeatures);
const served = txs.map((tx) => stream(tx));

test('the check passes on the true definition with 0 mismatches and 0 missing', async () => {
  const lines: string[] = [];
  let report: SkewReport | undefined;
  const code = await featuresCheck({ view: fraudFeatures, served, events: txs, log: (l) => lines.push(l), report: (r) => (report = r) });
  assert.equal(code, 0, lines.join('\n'));
  assert.equal(report!.matchedRows, served.length);
  for (const f of report!.features) {
    assert.equal(f.mismatches, 0, f.feature);
    assert.equal(f.missing, 0, f.feature);
    assert.equal(f.compared, served.length);
  }
  assert.match(lines[0]!, /PASS$/);
});

test('the check finds a planted skew: a 1 h window computed as 61 min offline', async () => {
  const lines: string[] = [];
  let report: SkewReport | undefined;
  const code = await featuresCheck({ view: fraudFeatureView({ window1h: '61m' }), served, events: txs, log: (l) => lines.push(l), report: (r) => (report = r) });
  assert.equal(code, 1);
  const skewed = report!.features.filter((f) => !f.passed).map((f) => f.feature);
  assert.deepEqual(skewed, ['tx_count_1h']);
  const f = report!.features.find((x) => x.feature === 'tx_count_1h')!;
  assert.ok(f.mismatchRate > 0 && f.meanRelativeDiff > 0);
  assert.ok(lines.some((l) => l.startsWith('tx_count_1h') && l.endsWith('FAIL')));
});

test('served rows with no offline twin count as missing; a tolerance forgives tiny float differences', () => {
  const shifted = served.slice(0, 100).map((r) => ({ ...r, eventTime: r.eventTime + 1 }));
  const report = skewCheck(fraudFeatures, shifted, served);
  assert.equal(report.passed, false);
  assert.equal(report.features[0]!.missingRate, 1);
  const nudged = served.slice(0, 100).map((r) => ({ ...r, values: { ...r.values, amount_log: (r.values.amount_log as number) * (1 + 1e-9) } }));
  assert.equal(skewCheck(fraudFeatures, nudged, served).passed, false);
  assert.equal(skewCheck(fraudFeatures, nudged, served, { relativeTolerance: 1e-6 }).passed, true);
});

test('backfill then training set from a label file: CSV with the streaming values', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-features-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const history = txs.slice(0, 2000);
  const log: string[] = [];
  const result = await featuresBackfill({ view: fraudFeatures, events: history, dir: join(dir, 'store'), chunkRows: 700, log: (l) => log.push(l) });
  assert.equal(result.rows, 2000);
  assert.equal(result.files.length, 3);
  const labelsPath = join(dir, 'labels.jsonl');
  writeFileSync(labelsPath, history.map((tx) => JSON.stringify({ entity: tx.userId, eventTime: tx.timestamp, label: tx.isFraud ? 1 : 0 })).join('\n'));
  const out = join(dir, 'out', 'training.csv');
  const rows = await featuresTrainingSet({ dir: join(dir, 'store'), labels: labelsPath, views: [fraudFeatures], out, log: (l) => log.push(l) });
  assert.equal(rows.length, 2000);
  const csv = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(csv[0], ['entity', 'event_time', ...FEATURE_NAMES, 'label'].join(','));
  assert.equal(csv.length, 2001);
  const first = csv[1]!.split(',');
  assert.equal(first[0], history[0]!.userId);
  FEATURE_NAMES.forEach((name, i) => assert.ok(Object.is(Number(first[2 + i]), served[0]!.values[name])));
});
