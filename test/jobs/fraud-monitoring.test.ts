import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import job from '../../jobs/fraud-monitoring.ts';
import { TransactionGenerator } from '../../jobs/fraud/transactions.ts';
import { LabelGenerator, labelCount } from '../../jobs/monitoring/labels.ts';
import { driftReference } from '../../jobs/monitoring/warmReference.ts';
import { testDriver } from '../../runtime/testing/index.ts';

const HOUR = 3600_000;

describe('fraud-monitoring job', () => {
  it('joins late labels to their decisions and writes the labelled pairs next to every decision', async (t) => {
    const driver = await testDriver(job, { settings: { accuracyWindowMs: 60_000, driftWindowMs: 60_000 } });
    t.after(async () => {
      await driver.close().catch(() => {});
    });
    const generator = new TransactionGenerator({ seed: 5 });
    const transactions = Array.from({ length: 300 }, () => generator.next());
    driver.inputs.transactions.pipeAll(transactions);
    // Labels for every 10th transaction, 3 h later, in reverse order; one for a transaction never seen.
    const labelled = transactions.filter((_, i) => i % 10 === 0).reverse();
    for (const tx of labelled) driver.inputs.labels.pipe({ transactionId: tx.id, userId: tx.userId, isFraud: tx.isFraud === true, timestamp: tx.timestamp + 3 * HOUR });
    driver.inputs.labels.pipe({ transactionId: 'tx-unknown', userId: 'u0001', isFraud: true, timestamp: transactions[0]!.timestamp + HOUR });
    const decisions = await driver.outputs.decisions.read();
    assert.equal(decisions.length, 300);
    const pairs = await driver.outputs.labelled.read();
    assert.deepEqual(pairs.map((p) => p.transactionId).sort(), labelled.map((tx) => tx.id).sort());
    for (const pair of pairs) {
      const decision = decisions.find((d) => d.transactionId === pair.transactionId)!;
      assert.equal(pair.score, decision.score);
      assert.equal(pair.isFraud, decision.isFraud === true);
      assert.ok(Math.abs(pair.labelDelayHours - 3) < 1e-9);
    }
    assert.deepEqual(await driver.deadLetters.read(), []);
  });

  it('generates labels in label-time order, 2–40 h after their transactions, about labelShare of them', () => {
    const options = { seed: 42, labelShare: 0.5, minDelayMs: 2 * HOUR, maxDelayMs: 40 * HOUR };
    const count = labelCount(10_000, options);
    assert.ok(count > 4800 && count < 5200, `${count} labels for 10,000 transactions at 0.5`);
    const transactions = new TransactionGenerator({ seed: 42 });
    const times = new Map<string, number>();
    for (let i = 0; i < 100_000; i++) {
      const tx = transactions.next();
      times.set(tx.id, tx.timestamp);
    }
    const labels = new LabelGenerator(options);
    let previous = -Infinity;
    let outOfTransactionOrder = 0;
    let lastTx = -Infinity;
    for (let i = 0; i < count; i++) {
      const label = labels.next();
      assert.ok(label.timestamp >= previous, 'labels come in label-time order');
      previous = label.timestamp;
      const delay = label.timestamp - times.get(label.transactionId)!;
      assert.ok(delay >= 2 * HOUR && delay <= 40 * HOUR, `delay ${delay}`);
      const txTime = times.get(label.transactionId)!;
      if (txTime < lastTx) outOfTransactionOrder++;
      lastTx = txTime;
    }
    assert.ok(outOfTransactionOrder > count / 4, 'labels are not in transaction order');
  });

  it('uses the warm reference of fraud@1 unless told to use the manifest', () => {
    const warm = driftReference('models/fraud@1', 'warm');
    const trained = driftReference('models/fraud@1', 'manifest');
    assert.equal(warm.warm, true);
    assert.equal(warm.id, 'fraud@1');
    assert.equal(trained.warm, false);
    assert.deepEqual(warm.manifest.reference.features.tx_count_24h!.edges, trained.manifest.reference.features.tx_count_24h!.edges);
    assert.notDeepEqual(warm.manifest.reference.features.tx_count_24h!.proportions, trained.manifest.reference.features.tx_count_24h!.proportions);
  });
});
