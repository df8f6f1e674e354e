import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSettings } from '../../core/settings.ts';
import job, { syntheticTransactions } from '../../jobs/merchant-windows.ts';
import { bindIO } from '../../runtime/bindIO.ts';
import type { Transaction } from '../../jobs/fraud/transactions.ts';
import { addToSketch, emptySketch, mergeSketches, sketchQuantile } from '../../jobs/merchants/amountSketch.ts';
import { OutOfOrder } from '../../jobs/merchants/outOfOrder.ts';
import { Random } from '../../jobs/fraud/random.ts';
import { runTestJob } from '../kit/jobs.ts';

/** Element at rank ⌊q·(n−1)⌋ of the sorted values: what the sketch approximates. */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

test('the amount sketch answers p50/p95 within 1 % and merges like the union of its inputs', () => {
  const rng = new Random(3);
  const a = emptySketch();
  const b = emptySketch();
  const all: number[] = [];
  for (let i = 0; i < 5_000; i++) {
    const amount = Math.round(Math.exp(3 + 1.5 * rng.normal()) * 100) / 100;
    all.push(amount);
    addToSketch(i % 3 === 0 ? a : b, amount);
  }
  const merged = JSON.parse(JSON.stringify(mergeSketches(a, b)));
  for (const q of [0, 0.5, 0.95, 0.99, 1]) {
    const exact = exactQuantile(all, q);
    const estimate = sketchQuantile(merged, q)!;
    assert.ok(Math.abs(estimate - exact) <= 0.01 * exact, `q=${q}: ${estimate} vs ${exact}`);
  }
  assert.equal(sketchQuantile(emptySketch(), 0.5), null);
  assert.equal(sketchQuantile(addToSketch(emptySketch(), 0), 0.5), 0);
});

test('OutOfOrder hands out every input at most once, out of order, with stragglers far behind', () => {
  let next = 0;
  const shuffled = new OutOfOrder(() => next++, { seed: 1, buffer: 50, stragglerRatio: 0.01, stragglerDelay: [1_000, 2_000] });
  const out = Array.from({ length: 20_000 }, () => shuffled.next());
  assert.equal(new Set(out).size, out.length, 'no duplicates');
  let inversions = 0;
  let farBehind = 0;
  let highest = -1;
  out.forEach((value, i) => {
    if (i > 0 && value < out[i - 1]!) inversions++;
    if (value < highest - 900) farBehind++;
    highest = Math.max(highest, value);
  });
  assert.ok(inversions > 5_000, `shuffled (${inversions} inversions)`);
  assert.ok(farBehind > 100 && farBehind < 400, `about 1 % stragglers (${farBehind})`);
});

test('merchant-windows end to end: each window equals a batch computation over its on-time records, late ones are in the side-output file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-merchant-windows-'));
  const files = { windows: join(dir, 'windows.jsonl'), late: join(dir, 'late.jsonl') };
  const settings = resolveSettings(job.settings, { count: '60000' });
  const binding = bindIO(job, { kafka: undefined, topics: {}, inputFiles: {}, outputFiles: files, outputMode: 'overwrite', settings });
  const { stats, deadLetters } = await runTestJob(job, { sources: binding.sources, sinks: binding.sinks, settings: { count: '60000' }, maxInFlight: 5_000 });
  assert.equal(stats.in, 60_000);
  assert.equal(deadLetters.length, 0);

  const lines = async (path: string) => (await readFile(path, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const windows = await lines(files.windows);
  const late = await lines(files.late);
  assert.equal(stats.out, windows.length + late.length);

  // The same input, regenerated from the same settings.
  const next = syntheticTransactions(settings);
  const input: Transaction[] = Array.from({ length: 60_000 }, () => next());
  const lateIds = new Set(late.map((l) => (l.transaction as Transaction).id));
  assert.equal(lateIds.size, late.length);

  // Every late record really was past its window's allowed lateness when it arrived.
  const { windowMs, allowedLatenessMs } = settings;
  for (const l of late) {
    const windowEnd = Math.floor((l.eventTime as number) / windowMs) * windowMs + windowMs;
    assert.ok(windowEnd - 1 + allowedLatenessMs <= (l.watermark as number), `late: ${JSON.stringify(l)}`);
  }

  // Batch computation per (merchant, minute) over the records that were not late.
  const expected = new Map<string, Transaction[]>();
  for (const tx of input) {
    if (lateIds.has(tx.id)) continue;
    const id = `${tx.merchantId}@${new Date(Math.floor(tx.timestamp / windowMs) * windowMs).toISOString()}`;
    expected.set(id, [...(expected.get(id) ?? []), tx]);
  }
  // The stream's latest result per window (firings increase).
  const latest = new Map<string, Record<string, unknown>>();
  for (const w of windows) {
    const id = `${w.merchantId}@${w.windowStart}`;
    const previous = latest.get(id);
    assert.ok(previous === undefined || (w.firing as number) === (previous.firing as number) + 1, `firings of ${id} go 0, 1, 2...`);
    latest.set(id, w);
  }
  assert.deepEqual([...latest.keys()].sort(), [...expected.keys()].sort(), 'one window per merchant and minute that had on-time records');
  for (const [id, txs] of expected) {
    const w = latest.get(id)!;
    const amounts = txs.map((tx) => tx.amount);
    const flagged = txs.filter((tx) => tx.isFraud === true).length;
    assert.equal(w.count, txs.length, id);
    assert.equal(w.flagged, flagged, id);
    assert.equal(w.flagRate, flagged / txs.length, id);
    assert.ok(Math.abs((w.avgAmount as number) - amounts.reduce((a, b) => a + b, 0) / txs.length) <= 0.005 + 1e-9, id);
    for (const [field, q] of [['p50Amount', 0.5], ['p95Amount', 0.95]] as const) {
      const exact = exactQuantile(amounts, q);
      assert.ok(Math.abs((w[field] as number) - exact) <= 0.01 * exact + 0.005, `${id} ${field}: ${String(w[field])} vs ${exact}`);
    }
  }
  const updates = windows.filter((w) => (w.firing as number) > 0).length;
  assert.ok(late.length > 20, `the stream has records past the lateness (${late.length})`);
  assert.ok(updates > 20, `the stream has late records within the lateness that re-emit windows (${updates})`);
  await rm(dir, { recursive: true });
});
