/**
 * The feature view's per-record cost: the fraud job's ten features through the generic view
 * (jobs/fraud/featureView.ts on core/features) against the hand-written features it replaced
 * (the test oracle, test/jobs/fraud/referenceFeatures.ts), and optionally against the view of an
 * older checkout (`--against <dir>`, repeatable, e.g. `git archive <commit> | tar -x -C /tmp/old`), in the
 * same process, alternating rounds. Each variant keeps one state per user in a Map and writes
 * the ten features into a Float32Array, as the job's keyed state does. Figures, not a test.
 *
 *   npx tsx bench/featureView.ts
 *   npx tsx bench/featureView.ts --against /tmp/old --count 300000 --rounds 7
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { FeatureRow } from '../core/features/index.ts';
import * as current from '../jobs/fraud/featureView.ts';
import { TransactionGenerator, type Transaction } from '../jobs/fraud/transactions.ts';
import { computeFeatures, emptyHistory, updateHistory, type UserHistory } from '../test/jobs/fraud/referenceFeatures.ts';

const { values } = parseArgs({
  options: {
    against: { type: 'string', multiple: true, default: [] },
    count: { type: 'string', default: '200000' },
    users: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
  },
});
const count = Number(values.count);
const generator = new TransactionGenerator({ seed: 11, users: Number(values.users) });
const txs: Transaction[] = Array.from({ length: count }, () => generator.next());

/** What both views offer (the older one is loaded from another checkout, so typed loosely). */
interface ViewModule {
  fraudFeatures: { initial(): unknown; update(state: never, tx: Transaction): { state: unknown; row: FeatureRow } };
  featureVector(row: FeatureRow, out?: Float32Array): Float32Array;
}

/** Runs all transactions through `step`, one state per user; ns per record. */
function timeView(module: ViewModule): number {
  const states = new Map<string, unknown>();
  const out = new Float32Array(10);
  const view = module.fraudFeatures;
  let check = 0;
  const start = performance.now();
  for (const tx of txs) {
    const { state, row } = view.update((states.get(tx.userId) ?? view.initial()) as never, tx);
    states.set(tx.userId, state);
    check += module.featureVector(row, out)[2]!;
  }
  const ns = ((performance.now() - start) * 1e6) / txs.length;
  if (!Number.isFinite(check)) throw new Error('features went non-finite');
  return ns;
}

function timeHandWritten(): number {
  const states = new Map<string, UserHistory>();
  const out = new Float32Array(10);
  let check = 0;
  const start = performance.now();
  for (const tx of txs) {
    const history = states.get(tx.userId) ?? emptyHistory();
    check += computeFeatures(tx, history, out)[2]!;
    states.set(tx.userId, updateHistory(history, tx));
  }
  const ns = ((performance.now() - start) * 1e6) / txs.length;
  if (!Number.isFinite(check)) throw new Error('features went non-finite');
  return ns;
}

const variants: [string, () => number][] = [
  ['hand-written', timeHandWritten],
  ['view (this tree)', () => timeView(current)],
];
for (const dir of values.against) {
  const older = (await import(pathToFileURL(resolve(dir, 'jobs/fraud/featureView.ts')).href)) as ViewModule;
  variants.push([`view (${dir})`, () => timeView(older)]);
}
const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (const [, run] of variants) run(); // warm-up: the JIT, the generator's strings
for (let round = 0; round < Number(values.rounds); round++) for (const [name, run] of variants) times.get(name)!.push(run());
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(times.get('hand-written')!);
console.log(`${count.toLocaleString('en-US')} transactions of ${values.users} users, ${values.rounds} alternating rounds, median ns per record:`);
for (const [name, list] of times) {
  const ns = median(list);
  console.log(`  ${name.padEnd(28)} ${ns.toFixed(0).padStart(6)} ns  (${(ns / base).toFixed(2)}x hand-written, +${((ns - base) / 1000).toFixed(2)} µs)  rounds: ${list.map((x) => x.toFixed(0)).join(' ')}`);
}
