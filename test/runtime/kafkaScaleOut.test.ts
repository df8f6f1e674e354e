import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTopics, sharedKafka, type KafkaCluster } from '../kit/kafka.ts';
import { consumeUntil, KAFKA_TEST_ENV, killAllSluice, spawnSluice, type SluiceProcess } from '../kit/sluiceProcess.ts';
import { countDecisions, startTransactionFeed, summaryIn } from '../kit/transactionFeed.ts';

const BEFORE = 12_000;
const AFTER = 4_000;

/** The partitions of the last "assigned tx[...]" line in a process's stderr. */
function lastAssignment(stderr: string): number[] {
  const lines = [...stderr.matchAll(/assigned tx\[([\d,]*)\]|assigned nothing/g)];
  const last = lines.at(-1);
  if (last === undefined || last[1] === undefined) return [];
  return last[1].split(',').map(Number);
}

const MAX_IN_FLIGHT = 2000;
describe('two sluice run processes in one consumer group', () => {
  let kafka: KafkaCluster;
  let first: SluiceProcess;
  let second: SluiceProcess;
  let decisions: Map<string, number>;
  let written = 0;
  /** stderr of both once every input was decided, before they are stopped (a stop rebalances too). */
  let assignedWhileRunning: [string, string] = ['', ''];
  const exits: { code: number | null }[] = [];

  before(async () => {
    kafka = await sharedKafka();
    await createTopics(kafka.brokers, [{ name: 'tx', partitions: 4 }, { name: 'decisions', partitions: 4 }, { name: 'dead', partitions: 1 }]);
    const args = [
      'run', 'jobs/fraud-detection.ts', '--brokers', kafka.brokers.join(','), '--group', 'scale-out', '--no-progress',
      '--input-topic', 'tx', '--output-topic', 'decisions', '--dead-letter-topic', 'dead', '--max-in-flight', String(MAX_IN_FLIGHT),
    ];
    const early = startTransactionFeed(kafka.brokers, 'tx', { count: BEFORE, perSecond: 2000, seed: 1 });
    first = spawnSluice(args, { env: KAFKA_TEST_ENV });
    await first.waitForStderr(/assigned tx\[0,1,2,3\]/, 30_000);
    // Scale out while input is flowing: the second process joins the same group.
    second = spawnSluice(args, { env: KAFKA_TEST_ENV });
    await second.waitForStderr(/assigned tx\[\d/, 30_000);
    await first.waitForStderr(/assigned tx\[0,1,2,3\][^]*assigned (tx\[|nothing)/, 30_000);
    await early.done;
    // More input once the two share the partitions, so both have work.
    await startTransactionFeed(kafka.brokers, 'tx', { count: AFTER, seed: 2 }).done;
    try {
      const output = await consumeUntil(kafka.brokers, 'decisions', { until: (got) => countDecisions(got).size >= BEFORE + AFTER, timeoutMs: 45_000 });
      decisions = countDecisions(output);
      written = output.length;
      assignedWhileRunning = [first.stderr(), second.stderr()];
    } finally {
      first.kill('SIGTERM');
      second.kill('SIGTERM');
      exits.push(await first.exited, await second.exited);
    }
  });

  after(async () => {
    await killAllSluice();
  });

  it('split the partitions between them: disjoint, none left out', () => {
    const a = lastAssignment(assignedWhileRunning[0]);
    const b = lastAssignment(assignedWhileRunning[1]);
    assert.ok(a.length > 0, `first process ended with no partitions:\n${first.stderr()}`);
    assert.ok(b.length > 0, `second process ended with no partitions:\n${second.stderr()}`);
    assert.deepEqual(a.filter((p) => b.includes(p)), [], `overlapping assignments:\n${assignedWhileRunning.join('\n---\n')}`);
    assert.deepEqual([...a, ...b].sort(), [0, 1, 2, 3]);
  });

  it('both processed records', () => {
    assert.ok((summaryIn(first.stderr()) ?? 0) > 0, first.stderr());
    assert.ok((summaryIn(second.stderr()) ?? 0) > 0, second.stderr());
  });

  it('together wrote a decision for every input', (t) => {
    assert.equal(decisions.size, BEFORE + AFTER);
    const duplicates = written - decisions.size;
    t.diagnostic(`decisions written twice around the rebalance: ${duplicates}`);
    // Revoked partitions commit what is done; only records still in flight there are redone.
    assert.ok(duplicates <= MAX_IN_FLIGHT, `${duplicates} decisions written twice, more than the in-flight budget of ${MAX_IN_FLIGHT}`);
  });

  it('both exit 0 on SIGTERM', () => {
    assert.deepEqual(exits.map((e) => e.code), [0, 0]);
  });
});
