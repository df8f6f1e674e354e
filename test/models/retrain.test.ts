// `npm run train` end to end on a small count: events -> sluice features backfill (offline store)
// -> labels -> sluice features training-set (point-in-time join) -> models/train.py -> a new
// registry version that passes the registry's checks and serves the fraud job. Starts child
// sluice and python processes: run it under flock /tmp/heavy.lock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fraudJob from '../../jobs/fraud-detection.ts';
import { backfill, generate } from '../../jobs/fraud/backfill.ts';
import { FEATURE_NAMES } from '../../jobs/fraud/features.ts';
import { checkVersion, loadFixtures, loadHeldOut, resolveModel, validateCandidate } from '../../runtime/models/index.ts';
import { testDriver } from '../../runtime/testing/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// Enough rows that the 15 % test split holds fraud of both classes for fixtures and hold-out.
const COUNT = 6000;
const SEED = 7;

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('npm run train: from the feature store to a registry version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-retrain-'));
  const data = join(dir, 'data');
  const registry = join(dir, 'fraud');
  let result: { code: number | null; output: string };

  before(async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_TRAIN_DATA: data };
    delete env.NODE_TEST_CONTEXT;
    delete env.REDIS_URL;
    result = await run('bash', ['models/retrain.sh', String(COUNT), String(SEED), '--epochs', '2', '--registry', registry, '--created', '2026-12-01'], env);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every step and writes version 1 of the new registry', () => {
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /backfilled 6,000 rows of [\d,]+ entities/);
    assert.match(result.output, /training set: 6,000 rows/);
    assert.match(result.output, /wrote fraud@1/);
  });

  it('trains on point-in-time rows that equal the streaming features, label for label', () => {
    // The table the model learned from is the offline store joined at each label's event time;
    // it must hold, bit for bit as float32, the vector the streaming job computes for that very
    // transaction (a join that takes a row before or after it would differ).
    const lines = readFileSync(join(data, 'training.csv'), 'utf8').trimEnd().split('\n');
    assert.deepEqual(lines[0]!.split(','), ['entity', 'event_time', ...FEATURE_NAMES, 'label']);
    const rows = lines.slice(1).map((line) => line.split(','));
    const expected = [...backfill(generate(COUNT, SEED))];
    assert.equal(rows.length, expected.length);
    let frauds = 0;
    rows.forEach((cells, i) => {
      const { tx, features, label } = expected[i]!;
      assert.equal(cells[0], tx.userId, `row ${i}: entity`);
      assert.equal(Number(cells[1]), tx.timestamp, `row ${i}: event time`);
      assert.deepEqual(Float32Array.from(cells.slice(2, 12), Number), features, `row ${i} (${tx.id}): features`);
      assert.equal(Number(cells[12]), label, `row ${i}: label`);
      frauds += label;
    });
    assert.ok(frauds > 0, 'the small history holds fraud');
  });

  it('passes the registry checks: manifest, sha256, signature, features, pinned fixtures', async () => {
    const check = await checkVersion(registry, 1);
    assert.equal(check.state, 'valid', check.state === 'valid' ? '' : check.reason);
    if (check.state !== 'valid') return;
    assert.equal(check.manifest.training.rows, COUNT);
    assert.match(String(check.manifest.training.data), /sluice features training-set/);
    assert.deepEqual(check.manifest.features, [...FEATURE_NAMES]);
    const candidate = await resolveModel(`${registry}@1`);
    const verdict = await validateCandidate(candidate, {
      current: await resolveModel(join(ROOT, 'models/fraud@1')),
      fixtures: await loadFixtures(join(ROOT, 'models/fixtures/fraud-v1.json')),
      heldOut: await loadHeldOut(join(registry, '1/holdout.csv')),
      // Two epochs on 4,200 rows: the AUC bar is the full run's business, not this test's.
      maxAucDrop: 1,
    });
    assert.deepEqual(verdict.reasons, []);
    assert.ok(verdict.ok);
  });

  it('serves the fraud job', async () => {
    const driver = await testDriver(fraudJob, { settings: { model: registry, batch: 64 } });
    driver.inputs.transactions.pipeAll([...generate(300, 11)]);
    const out = await driver.outputs.decisions.read();
    const dead = await driver.deadLetters.read();
    await driver.close();
    assert.equal(dead.length, 0);
    assert.equal(out.length, 300);
    for (const decision of out) {
      assert.equal(decision.modelVersion, 'fraud@1');
      assert.equal(decision.fallback, false);
      assert.ok(decision.score >= 0 && decision.score <= 1);
    }
  });
});
