import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '../../kit/eventually.ts';
import { tempDir } from '../../kit/files.ts';
import type { Checkpoint, CheckpointInput, CheckpointStore } from '../../../core/checkpoint/checkpoint.ts';
import { CheckpointTimeoutError } from '../../../core/checkpoint/errors.ts';
import { FileCheckpointStore } from '../../../core/checkpoint/fileCheckpointStore.ts';
import type { Sink, Source } from '../../../core/job.ts';
import { defineJob, input, output } from '../../../core/index.ts';
import { valueState } from '../../../core/state/keyedState.ts';
import { collectSink, type CollectSink } from '../../../connectors/collectSink.ts';
import { keyBy } from '../../../operators/keyBy.ts';
import { withState } from '../../../operators/withState.ts';
import { runJob, type EngineOptions } from '../../../core/engine/engine.ts';

const count = valueState<number>('count');

/** A source of `total` records over 2 partitions that records what committable() said as it went. */
function recordingSource(total: number, seen: Array<number | undefined>): Source<string> {
  return {
    name: 'recording',
    async run(ctx) {
      for (let i = 0; i < total; i += 1) {
        const wait = ctx.emit({ key: `k${i % 3}`, value: `k${i % 3}`, position: { topic: 'r', partition: i % 2, offset: Math.floor(i / 2) } });
        if (wait !== undefined) await wait;
        if (i % 50 === 0) {
          seen.push(ctx.partitions.committable('r', 0));
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    },
  };
}

const countingJob = defineJob({
  name: 'counting',
  inputs: { keys: input('r', { parse: (value: unknown) => value as string }) },
  outputs: { counts: output<number>('counts') },
  pipeline: ({ keys }) =>
    keys.pipe(
      keyBy((key) => key),
      withState(count, (_key: string, state) => {
        const next = (state.get() ?? 0) + 1;
        state.update(next);
        return next;
      }),
    ),
});

/** Runs the counting job over `source` into `sink`. */
function runCounting(source: Source<string>, sink: CollectSink<number>, options: Pick<EngineOptions, 'maxInFlight' | 'checkpoints'>) {
  return runJob(countingJob, { sources: { keys: source as Source<unknown> }, sinks: { counts: sink as CollectSink<unknown> }, deadLetterSink: collectSink(), settings: {}, ...options });
}

describe('checkpoint coordinator', () => {
  it('makes positions committable only once their checkpoint is durable', async () => {
    const saved: CheckpointInput[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstSaveStarted!: () => void;
    const firstSave = new Promise<void>((resolve) => (firstSaveStarted = resolve));
    // A store whose first save does not finish until told to.
    const store: CheckpointStore = {
      latest: async () => undefined,
      save: async (input) => {
        if (saved.length === 0) {
          firstSaveStarted();
          await held;
        }
        saved.push(input);
        return { ...input, id: saved.length, createdAt: Date.now() } as Checkpoint;
      },
    };
    const seen: Array<number | undefined> = [];
    // A slow sink keeps records in flight when a checkpoint starts: it must wait for them.
    const running = runCounting(recordingSource(1000, seen), collectSink<number>({ delayMs: 3 }), { maxInFlight: 100, checkpoints: { store, intervalMs: 5, log: () => {} } });
    // Until the first checkpoint is being written and the source has looked a few times since
    // (counted, not timed: a loaded machine may take long to get there; 10 s only stops a hang).
    await firstSave;
    const looksBeforeSave = seen.length;
    await eventually('the source to look 3 times more while the first checkpoint is written', () => seen.length >= looksBeforeSave + 3, {
      timeoutMs: 10_000,
      everyMs: 5,
      detail: () => `the source stopped while the first checkpoint was written (${seen.length} looks)`,
    });
    assert.ok(seen.every((offset) => offset === undefined), 'nothing committable while the first checkpoint is not durable');
    release();
    const stats = await running.done;
    assert.ok(stats.checkpoints >= 2);
    assert.ok(seen.some((offset) => offset !== undefined), 'committable after a durable checkpoint');
    const last = saved.at(-1)!;
    assert.deepEqual(
      last.positions.map((p) => [p.partition, p.offset]).sort(),
      [
        [0, 499],
        [1, 499],
      ],
    );
    assert.deepEqual(last.state['r/0']!.find(([, key]) => key === 'k0')?.[2], 167, 'the state of exactly the checkpointed records');
    // Every checkpoint, also those taken mid-run, holds the state of exactly the records at or
    // below its positions: none admitted while it was captured, none missing.
    for (const checkpoint of saved) {
      for (const { partition, offset } of checkpoint.positions) {
        for (const k of [0, 1, 2]) {
          // Record i is in partition i % 2 at offset ⌊i / 2⌋ with key k(i % 3).
          let expected = 0;
          for (let o = 0; o <= offset; o += 1) if ((2 * o + partition) % 3 === k) expected += 1;
          const stored = checkpoint.state[`r/${partition}`]?.find(([, key]) => key === `k${k}`)?.[2];
          assert.equal(stored ?? 0, expected, `checkpoint at r[${partition}]@${offset}, key k${k}`);
        }
      }
    }
    assert.ok(saved.length >= 3, 'checkpoints were taken mid-run, not only at the end');
  });

  it('restores state and skips what the checkpoint already covers when the source replays', async () => {
    const store = new FileCheckpointStore({ directory: tempDir('sluice-coordinator-'), log: () => {} });
    // First run: 600 records, checkpointed at the end of a graceful stop.
    const first = runCounting(recordingSource(600, []), collectSink<number>(), { maxInFlight: 50, checkpoints: { store, intervalMs: 1000, log: () => {} } });
    await first.done;
    // Second run replays from the start (like a Kafka group with nothing committed) and goes to 900.
    const sink = collectSink<number>();
    const second = runCounting(recordingSource(900, []), sink, { maxInFlight: 50, checkpoints: { store, intervalMs: 1000, log: () => {} } });
    const stats = await second.done;
    assert.equal(stats.skipped, 600);
    assert.equal(stats.out, 300);
    // State is per partition: k0 in partition 0 is every sixth record, 150 of 900, so its last
    // count is 150 — not 150 + the 100 that a replay of the first 600 would count again.
    const k0 = sink.records.filter((record) => record.key === 'k0' && record.position.partition === 0).map((record) => record.value);
    assert.equal(Math.max(...k0), 150);
  });

  it('fails the job, naming the partitions still waiting, when records stay in flight past the checkpoint timeout', { timeout: 10_000 }, async () => {
    const store: CheckpointStore = { latest: async () => undefined, save: async (input) => ({ ...input, id: 1, createdAt: Date.now() }) as Checkpoint };
    // A sink that never answers for the record at r[1]@40, as a write to a broker that stopped answering.
    const stuck: Sink<unknown> = {
      name: 'stuck',
      write: (records) => (records.some((r) => r.position.partition === 1 && r.position.offset === 40) ? new Promise<void>(() => {}) : Promise.resolve()),
    };
    const running = runJob(countingJob, { sources: { keys: recordingSource(1000, []) as Source<unknown> }, sinks: { counts: stuck }, deadLetterSink: collectSink(), settings: {}, maxInFlight: 100, checkpoints: { store, intervalMs: 5, timeoutMs: 200, log: () => {} } });
    const failure = await running.failed;
    assert.ok(failure instanceof CheckpointTimeoutError, String(failure));
    assert.match(failure.message, /a checkpoint waited 200 ms for the records in flight to finish \(still open: r\[0\]: \d+, r\[1\]: \d+\)/);
  });

  it('fails the job when its store never answers a write within the checkpoint timeout (later checkpoints would wait behind it)', { timeout: 10_000 }, async () => {
    let saves = 0;
    const silent: CheckpointStore = {
      latest: async () => undefined,
      save: (input) => (++saves === 3 ? new Promise<Checkpoint>(() => {}) : Promise.resolve({ ...input, id: saves, createdAt: Date.now() } as Checkpoint)),
    };
    const running = runCounting(recordingSource(1000, []), collectSink<number>({ delayMs: 1 }), { maxInFlight: 100, checkpoints: { store: silent, intervalMs: 5, timeoutMs: 200, log: () => {} } });
    const failure = await running.failed;
    assert.ok(failure instanceof CheckpointTimeoutError, String(failure));
    assert.match(failure.message, /a checkpoint waited 200 ms for its store to write it; the job stops so that a restart resumes from the last checkpoint/);
    assert.equal(saves, 3, 'no checkpoint started while the third was being written');
    // With nothing else stuck, the failed job stops by itself.
    await assert.rejects(running.done, (error) => error === failure);
  });
});

