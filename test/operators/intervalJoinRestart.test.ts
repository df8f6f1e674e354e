import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { FileCheckpointStore } from '../../core/checkpoint/fileCheckpointStore.ts';
import { defineJob, input, output } from '../../core/index.ts';
import { intervalJoin } from '../../operators/index.ts';
import { eventually } from '../kit/eventually.ts';
import { startTestJob } from '../kit/jobs.ts';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 0, 1);
const COUNT = 3000;

const job = defineJob({
  name: 'join-restart-test',
  inputs: {
    decisions: input('decisions', z.object({ id: z.string(), time: z.number() })),
    labels: input('labels', z.object({ id: z.string(), time: z.number() })),
  },
  outputs: { pairs: output<string>('pairs') },
  pipeline: ({ decisions, labels }) =>
    decisions.pipe(intervalJoin(labels, { lowerMs: 0, upperMs: 48 * HOUR, key: { left: (d) => d.id, right: (l) => l.id }, time: { left: (d) => d.time, right: (l) => l.time }, join: (d) => d.id })),
});

// Every other decision gets a label 3 h of event time later: the labels run ahead, so most wait in the join's state.
const sources = (rate: number | undefined) => ({
  decisions: generatorSource({ name: 'decisions', count: COUNT, make: (i) => ({ id: `tx-${i}`, time: T0 + i * 1000 }), ...(rate === undefined ? {} : { ratePerSecond: rate }) }),
  labels: generatorSource({ name: 'labels', count: COUNT / 2, make: (j) => ({ id: `tx-${2 * j}`, time: T0 + 2 * j * 1000 + 3 * HOUR }), ...(rate === undefined ? {} : { ratePerSecond: rate }) }),
});

describe('intervalJoin across a stop and restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-join-restart-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loses no pair: the buffered labels and decisions come back from the checkpoint', async () => {
    const checkpoints = { store: new FileCheckpointStore({ directory: dir, log: () => {} }), intervalMs: 50, log: () => {} };
    const first = startTestJob(job, { sources: sources(3000), engine: { checkpoints } });
    // Stop once part of the pairs are out, with records of both inputs still waiting in the join.
    await eventually('200 pairs out', () => first.outputs.pairs!.records.length >= 200, { everyMs: 10 });
    first.running.stop();
    const firstStats = await first.running.done;
    assert.ok(firstStats.in < COUNT + COUNT / 2, 'stopped before the end of the inputs');
    const before = first.outputs.pairs!.records.map((r) => r.value as string);

    const second = startTestJob(job, { sources: sources(undefined), engine: { checkpoints: { ...checkpoints, store: new FileCheckpointStore({ directory: dir, log: () => {} }) } } });
    const secondStats = await second.running.done;
    assert.ok(secondStats.skipped > 0, 'the restart skipped records the checkpoint already holds');
    const after = second.outputs.pairs!.records.map((r) => r.value as string);
    const all = new Set([...before, ...after]);
    assert.equal(all.size, COUNT / 2, `${COUNT / 2 - all.size} pairs lost across the restart`);
    // At-least-once allows a replayed pair twice, but a checkpointed join should not need to.
    assert.equal(before.length + after.length, COUNT / 2, 'no pair written twice');
  });
});
