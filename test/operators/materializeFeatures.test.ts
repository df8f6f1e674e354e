import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { computeRows, type FeatureRow } from '../../core/features/index.ts';
import { defineJob, input, output, setting } from '../../core/index.ts';
import { map, materializeFeatures } from '../../operators/index.ts';
import { testDriver } from '../../runtime/testing/testDriver.ts';
import { fraudFeatures } from '../../jobs/fraud/featureView.ts';
import { parseTransaction, TransactionGenerator } from '../../jobs/fraud/transactions.ts';
import { userFeatures } from '../../jobs/fraud/userFeatures.ts';

function job(servedLog: string) {
  return defineJob({
    name: 'materialize-test',
    settings: { redis: setting.optionalString('online store'), sample: setting.number(0, 'served share', { min: 0, max: 1 }) },
    inputs: { transactions: input('transactions', { parse: parseTransaction }, { key: (tx) => tx.userId, time: (tx) => tx.timestamp }) },
    outputs: { ids: output<string>('ids') },
    pipeline: ({ transactions }, { settings }) =>
      transactions.pipe(
        userFeatures(),
        materializeFeatures(fraudFeatures, { redis: settings.redis, servedSample: settings.sample, servedLog }),
        map((f) => f.tx.id),
      ),
  });
}

const gen = new TransactionGenerator({ seed: 4, users: 50 });
const txs = Array.from({ length: 1000 }, () => gen.next());

test('without Redis it passes every record on, in order, and logs nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-mat-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const driver = await testDriver(job(join(dir, 'served.jsonl')));
  driver.inputs.transactions.pipeAll(txs);
  assert.deepEqual(await driver.outputs.ids.read(), txs.map((tx) => tx.id));
  await driver.close();
  assert.equal(existsSync(join(dir, 'served.jsonl')), false);
});

test('the served-rows log holds a deterministic sample of exactly the rows the job computed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-mat-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logged: FeatureRow[][] = [];
  for (let run = 0; run < 2; run++) {
    const path = join(dir, `served-${run}.jsonl`);
    const driver = await testDriver(job(path), { settings: { sample: 0.3 } });
    driver.inputs.transactions.pipeAll(txs);
    assert.equal((await driver.outputs.ids.read()).length, txs.length);
    await driver.close();
    logged.push(readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as FeatureRow));
  }
  assert.deepEqual(logged[0], logged[1], 'a rerun logs the same rows');
  assert.ok(logged[0]!.length > 200 && logged[0]!.length < 400, `about 30 % of 1000 rows logged (got ${logged[0]!.length})`);
  const offline = new Map(computeRows(fraudFeatures, txs).map((r) => [JSON.stringify([r.entity, r.eventTime]), r]));
  for (const row of logged[0]!) assert.deepEqual(row, offline.get(JSON.stringify([row.entity, row.eventTime])));
});

test('an online store that cannot be reached at start stops the job with one line naming the URL and what to do', async () => {
  const driver = await testDriver(job('unused.jsonl'), { settings: { redis: 'redis://127.0.0.1:1' } });
  driver.inputs.transactions.pipe(txs[0]!);
  await assert.rejects(driver.outputs.ids.read(), /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*redis-server.*REDIS_URL/);
  await driver.close().catch(() => undefined);
});
