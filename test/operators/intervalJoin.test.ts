import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { TestClock } from '../../core/clock.ts';
import { defineJob, input, output } from '../../core/index.ts';
import { WatermarkTracker } from '../../core/time/watermarkTracker.ts';
import { intervalJoin, onlineAccuracy, type AccuracyReport } from '../../operators/index.ts';
import { IntervalJoinState, type JoinEntry } from '../../operators/monitoring/intervalJoinState.ts';
import { testDriver } from '../../runtime/testing/index.ts';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 0, 1);

interface Labelled {
  id: string;
  score: number;
  isFraud: boolean;
  decidedAt: number;
  labelledAt: number;
}

const decisionSchema = z.object({ id: z.string(), time: z.number(), score: z.number() });
const labelSchema = z.object({ id: z.string(), time: z.number(), isFraud: z.boolean() });

function joinJob(reports: AccuracyReport[] = []) {
  return defineJob({
    name: 'join-test',
    inputs: {
      decisions: input('decisions', decisionSchema, { key: (d) => d.id, time: (d) => d.time }),
      labels: input('labels', labelSchema, { time: (l) => l.time }),
    },
    outputs: { labelled: output<Labelled>('labelled') },
    pipeline: ({ decisions, labels }) =>
      decisions.pipe(
        intervalJoin(labels, {
          lowerMs: 0,
          upperMs: 48 * HOUR,
          key: { right: (l) => l.id },
          join: (d, l): Labelled => ({ id: d.id, score: d.score, isFraud: l.isFraud, decidedAt: d.time, labelledAt: l.time }),
        }),
        onlineAccuracy({ model: 'fraud@1', threshold: 0.7, windowMs: 60_000, score: (p) => p.score, label: (p) => p.isFraud, onWindow: (r) => reports.push(r) }),
      ),
  });
}

const byId = (a: Labelled, b: Labelled) => a.id.localeCompare(b.id);

describe('intervalJoin', () => {
  it('joins labels that arrive hours later and out of order, and labels that arrive before their decision', async () => {
    const driver = await testDriver(joinJob());
    for (let i = 0; i < 4; i++) driver.inputs.decisions.pipe({ id: `tx-${i}`, time: T0 + i * 60_000, score: i / 4 });
    // Chargebacks come in days later, not in transaction order.
    driver.inputs.labels.pipe({ id: 'tx-2', time: T0 + 30 * HOUR, isFraud: true });
    driver.inputs.labels.pipe({ id: 'tx-0', time: T0 + 5 * HOUR, isFraud: false });
    driver.inputs.labels.pipe({ id: 'tx-3', time: T0 + 47 * HOUR, isFraud: false });
    const first = await driver.outputs.labelled.read();
    assert.deepEqual(first.map((p) => p.id).sort(), ['tx-0', 'tx-2', 'tx-3']);
    assert.deepEqual(first.sort(byId)[1], { id: 'tx-2', score: 0.5, isFraud: true, decidedAt: T0 + 120_000, labelledAt: T0 + 30 * HOUR });
    // Either order: a label first, its decision after.
    driver.inputs.labels.pipe({ id: 'tx-9', time: T0 + 10 * HOUR, isFraud: true });
    assert.deepEqual(await driver.outputs.labelled.read(), []);
    driver.inputs.decisions.pipe({ id: 'tx-9', time: T0 + 9 * HOUR, score: 0.95 });
    assert.deepEqual((await driver.outputs.labelled.read()).map((p) => [p.id, p.isFraud]), [['tx-9', true]]);
    await driver.close();
  });

  it('matches only inside [t + lower, t + upper] and only the same key', async () => {
    const driver = await testDriver(joinJob());
    driver.inputs.decisions.pipe({ id: 'a', time: T0 + 10 * HOUR, score: 0.9 });
    driver.inputs.labels.pipe({ id: 'a', time: T0 + 10 * HOUR - 1, isFraud: true }); // before the decision
    driver.inputs.labels.pipe({ id: 'a', time: T0 + 58 * HOUR + 1, isFraud: true }); // 48 h + 1 ms after
    driver.inputs.labels.pipe({ id: 'b', time: T0 + 11 * HOUR, isFraud: true }); // another key
    driver.inputs.labels.pipe({ id: 'a', time: T0 + 58 * HOUR, isFraud: false }); // the upper bound is inclusive
    assert.deepEqual((await driver.outputs.labelled.read()).map((p) => [p.id, p.labelledAt - p.decidedAt]), [['a', 48 * HOUR]]);
    await driver.close();
  });

  it('drops a decision once the watermark passes its interval: a label for it that comes later matches nothing', async () => {
    const run = async (watermarkAt: number) => {
      const driver = await testDriver(joinJob());
      driver.inputs.decisions.pipe({ id: 'old', time: T0, score: 0.9 });
      // Both inputs move event time to `watermarkAt` (the watermark is their minimum).
      driver.inputs.decisions.pipe({ id: 'new', time: T0 + watermarkAt, score: 0.1 });
      driver.inputs.labels.pipe({ id: 'other', time: T0 + watermarkAt, isFraud: false });
      driver.inputs.labels.pipe({ id: 'old', time: T0 + 47 * HOUR, isFraud: true });
      const pairs = await driver.outputs.labelled.read();
      await driver.close();
      return pairs.map((p) => p.id);
    };
    assert.deepEqual(await run(40 * HOUR), ['old'], 'with the watermark at 40 h the decision of 0 h is still held');
    assert.deepEqual(await run(50 * HOUR), [], 'at 50 h it left the state (its interval ended at 48 h)');
  });

  it('expires nothing while one input has said nothing: labels that start first wait for their decisions', async () => {
    const driver = await testDriver(joinJob());
    // Labels far ahead in event time, in reverse order, before any decision.
    for (let i = 9; i >= 0; i--) driver.inputs.labels.pipe({ id: `tx-${i}`, time: T0 + 20 * HOUR + i, isFraud: i % 2 === 0 });
    assert.deepEqual(await driver.outputs.labelled.read(), []);
    for (let i = 0; i < 10; i++) driver.inputs.decisions.pipe({ id: `tx-${i}`, time: T0 + i, score: 0.5 });
    assert.equal((await driver.outputs.labelled.read()).length, 10);
    await driver.close();
  });

  it('gives the hand-computed precision, recall and AUC of the joined pairs', async () => {
    const reports: AccuracyReport[] = [];
    const driver = await testDriver(joinJob(reports));
    const cases: Array<[number, boolean]> = [[0.9, true], [0.8, false], [0.75, true], [0.3, true], [0.2, false], [0.1, false]];
    cases.forEach(([score], i) => driver.inputs.decisions.pipe({ id: `tx-${i}`, time: T0 + i * 1000, score }));
    // Labels in reverse order, a day later.
    [...cases.entries()].reverse().forEach(([i, [, isFraud]]) => driver.inputs.labels.pipe({ id: `tx-${i}`, time: T0 + 24 * HOUR + i, isFraud }));
    assert.equal((await driver.outputs.labelled.read()).length, 6);
    await driver.advanceTime('1m');
    await driver.close();
    assert.equal(reports.length, 1);
    const { result, model } = reports[0]!;
    assert.equal(model, 'fraud@1');
    // Flagged at 0.7: 0.9 (tp), 0.8 (fp), 0.75 (tp); not flagged: 0.3 (fn), 0.2, 0.1 (tn).
    assert.deepEqual([result.truePositives, result.falsePositives, result.falseNegatives, result.trueNegatives], [2, 1, 1, 2]);
    assert.equal(result.precision, 2 / 3);
    assert.equal(result.recall, 2 / 3);
    // Positive above negative in 3 (0.9) + 2 (0.75) + 2 (0.3) of 9 pairs.
    assert.ok(Math.abs(result.auc - 7 / 9) < 1e-12, `AUC ${result.auc}`);
    assert.equal(result.count, 6);
  });
});

describe('IntervalJoinState', () => {
  const entry = <V>(key: string, time: number, value: V, scope = 'tx/0'): JoinEntry<V> => ({ scope, key, time, value });

  it('holds each side until the watermark passes its interval, then drops it', () => {
    const watermarks = new WatermarkTracker({ maxOutOfOrdernessMs: 0, clock: new TestClock(0) });
    const state = new IntervalJoinState<string, string>(-HOUR, 2 * HOUR, watermarks);
    assert.equal(state.watermark, -Infinity, 'no watermark before both sides had a record');
    const pairs: string[] = [];
    state.left(entry('k', 10 * HOUR, 'L'), (l, r) => pairs.push(`${l.value}${r.value}`));
    state.right(entry('k', 11 * HOUR, 'R', 'labels/0'), (l, r) => pairs.push(`${l.value}${r.value}`));
    assert.deepEqual(pairs, ['LR']);
    assert.equal(state.size, 2);
    // Bounded out-of-orderness 0: watermark = newest - 1; both partitions move together.
    const at = (time: number) => state.observe('tx/0', time + 1) + state.observe('labels/0', time + 1);
    // The right entry (11 h) can still meet lefts up to 11 h - lower = 12 h; the left until 10 h + upper = 12 h.
    assert.equal(at(12 * HOUR - 1), 0);
    assert.equal(state.size, 2);
    assert.equal(at(12 * HOUR), 2);
    assert.equal(state.size, 0);
    // Behind the watermark and out of its interval: neither joined nor kept.
    state.left(entry('k', 9 * HOUR, 'late'), () => assert.fail('nothing to join'));
    assert.equal(state.size, 0);
  });

  it('snapshots per scope and restores into a fresh state that still joins', () => {
    const clock = new TestClock(0);
    const state = new IntervalJoinState<string, string>(0, HOUR, new WatermarkTracker({ maxOutOfOrdernessMs: 0, clock }));
    state.left(entry('a', 1000, 'A', 'tx/0'), () => {});
    state.left(entry('b', 1000, 'B', 'tx/1'), () => {});
    const one = JSON.parse(JSON.stringify(state.snapshot(['tx/1']))) as ReturnType<typeof state.snapshot>;
    assert.deepEqual(one.left.map((e) => e.key), ['b']);
    const restored = new IntervalJoinState<string, string>(0, HOUR, new WatermarkTracker({ maxOutOfOrdernessMs: 0, clock }));
    restored.restore(JSON.parse(JSON.stringify(state.snapshot())) as ReturnType<typeof state.snapshot>);
    assert.equal(restored.size, 2);
    const pairs: string[] = [];
    restored.right(entry('b', 2000, 'r', 'labels/0'), (l, r) => pairs.push(`${l.value}${r.value}`));
    assert.deepEqual(pairs, ['Br']);
    restored.dropScope('tx/1');
    restored.right(entry('b', 3000, 'r2', 'labels/0'), (l) => pairs.push(l.value));
    assert.deepEqual(pairs, ['Br'], 'the dropped partition took its entry with it');
  });
});
