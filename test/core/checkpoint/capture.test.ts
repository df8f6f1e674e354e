import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureCheckpoint, restoreCheckpoint } from '../../../core/checkpoint/capture.ts';
import { FileCheckpointStore } from '../../../core/checkpoint/fileCheckpointStore.ts';
import { TestClock } from '../../../core/clock.ts';
import { MemoryStateBackend } from '../../../core/state/backend.ts';
import { KeyedStateStore, valueState } from '../../../core/state/keyedState.ts';
import { TumblingEventTimeWindows } from '../../../operators/windows/tumblingWindows.ts';
import { WindowOperator } from '../../../operators/windows/windowOperator.ts';
import { describe, Records, sum, type Row } from '../../operators/windows/fixtures.ts';

/** One process's worth of a tiny job: a running total per key in keyed state, and 10 s windows. */
function job() {
  const backend = new MemoryStateBackend();
  const state = new KeyedStateStore(backend, new TestClock());
  const total = state.value(valueState<number>('total'));
  const windows = new WindowOperator({ assigner: new TumblingEventTimeWindows(10_000), aggregate: sum, watermarks: { maxOutOfOrdernessMs: 2_000, clock: new TestClock() }, allowedLatenessMs: 3_000 });
  const outputs: string[] = [];
  const records = new Records();
  return {
    backend,
    windows,
    outputs,
    process(row: Row, offset: number) {
      const record = { ...records.make(row), position: { topic: 'tx', partition: 0, offset } };
      state.setCurrentKey('tx/0', row.key);
      total.update((total.get() ?? 0) + row.value);
      windows.process(record, (out) => {
        outputs.push(describe(out.value));
        out.ticket.release();
      });
    },
    finish() {
      windows.finish((out) => outputs.push(describe(out.value)));
    },
    totals: () => Object.fromEntries([...backend.entries('tx/0')].map(([, key, entry]) => [key, entry.value])),
  };
}

const rows: Row[] = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 7}`, ts: 1_000 * i - (i % 5 === 0 ? 4_000 : 0) - (i % 41 === 0 ? 9_000 : 0), value: i }));

test('checkpoint → store → crash → restore from latest → replay from its position: same keyed state and window results as an uninterrupted run', async () => {
  const whole = job();
  rows.forEach((row, offset) => whole.process(row, offset));
  whole.finish();

  const dir = await mkdtemp(join(tmpdir(), 'sluice-capture-'));
  const store = new FileCheckpointStore({ directory: dir });
  const first = job();
  const checkpointAt = 120;
  for (let offset = 0; offset <= checkpointAt; offset++) first.process(rows[offset]!, offset);
  await store.save(captureCheckpoint([{ topic: 'tx', partition: 0, offset: checkpointAt }], { state: first.backend, operators: { windows: first.windows } }));
  // The process goes on past the checkpoint, then dies: what it did after is lost, its output was written.
  for (let offset = checkpointAt + 1; offset < 160; offset++) first.process(rows[offset]!, offset);

  const second = job();
  const latest = await store.latest();
  assert.ok(latest !== undefined);
  assert.deepEqual(restoreCheckpoint(latest, { state: second.backend, operators: { windows: second.windows } }), { missing: [], unused: [] });
  const resumeAt = latest.positions[0]!.offset + 1;
  for (let offset = resumeAt; offset < rows.length; offset++) second.process(rows[offset]!, offset);
  second.finish();

  assert.deepEqual(second.totals(), whole.totals(), 'no double counting in keyed state');
  // Output up to the checkpoint from the first process, then the second's: exactly the uninterrupted output.
  const upToCheckpoint = job();
  for (let offset = 0; offset <= checkpointAt; offset++) upToCheckpoint.process(rows[offset]!, offset);
  assert.deepEqual([...upToCheckpoint.outputs, ...second.outputs], whole.outputs);
  assert.ok(first.outputs.length > upToCheckpoint.outputs.length, 'the lost process emitted results after the checkpoint, which the restart emits again (at-least-once output)');
  await rm(dir, { recursive: true });
});

test('restoreCheckpoint names operators the checkpoint lacks and those the job no longer has', () => {
  const a = job();
  const input = captureCheckpoint([], { operators: { windows: a.windows } });
  const b = job();
  const result = restoreCheckpoint({ ...input, id: 1, createdAt: 0 }, { operators: { other: b.windows } });
  assert.deepEqual(result, { missing: ['other'], unused: ['windows'] });
});
