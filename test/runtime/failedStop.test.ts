import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectSink } from '../../connectors/collectSink.ts';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { defineJob, input, output } from '../../core/index.ts';
import { SluiceError } from '../../core/errors.ts';
import type { Source } from '../../core/job.ts';
import { map } from '../../operators/index.ts';
import { exactlyOnceRun, localPublishing } from '../../runtime/exactlyOnce.ts';
import { boundFailedStop, stopWithin } from '../../runtime/failedStop.ts';
import { eventually } from '../kit/eventually.ts';
import { tempDir } from '../kit/files.ts';
import { startTestJob } from '../kit/jobs.ts';

const job = defineJob({
  name: 'stuck-stop',
  inputs: { numbers: input('numbers', { parse: (value: unknown) => Number(value) }) },
  outputs: { out: output<number>('out') },
  pipeline: ({ numbers }) => numbers.pipe(map((n) => n)),
});

/** A generator whose close never ends, as a consumer stuck on a broker that went away. */
function stuckOnClose(): Source<unknown> {
  const source = generatorSource({ name: 'numbers', count: Infinity, make: (i) => i });
  return { ...source, close: () => new Promise<void>(() => {}) };
}

describe('a failed run that does not stop', () => {
  it('stopWithin calls onStuck once the bound passes, and not when the run ended in time', async () => {
    let stuck = 0;
    stopWithin(new Promise(() => {}), 20, () => (stuck += 1));
    stopWithin(Promise.resolve(), 20, () => (stuck += 10));
    stopWithin(Promise.reject(new Error('failed')), 20, () => (stuck += 100));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(stuck, 1);
  });

  it('a run failed as by an exactly-once commit exits 1 with one line when its stop hangs', async (t) => {
    const exits: Array<number | undefined> = [];
    t.mock.method(process, 'exit', (code?: number) => void exits.push(code));
    const lines: string[] = [];
    const { running } = startTestJob(job, { sources: { numbers: stuckOnClose() }, sinks: { out: collectSink({ delayMs: 1 }) }, maxInFlight: 100 });
    await running.started;
    boundFailedStop(running, (line) => lines.push(line), 200);
    // What a failed commit does (runCommand, threadMain): eos.onFailure(() => running.fail(eos.failure)).
    const eos = exactlyOnceRun('exactly-once', undefined, localPublishing({ kind: 'directory', directory: tempDir('sluice-failed-stop-'), intervalMs: 1000 }))!;
    eos.onFailure(() => running.fail(eos.failure));
    eos.fail(new SluiceError('could not commit the transaction of in[0] exactly once (Connection error: read ECONNRESET)'));
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(exits, [1], 'the process exits 1 once the stop has hung past the bound');
    assert.deepEqual(lines, ['could not commit the transaction of in[0] exactly once (Connection error: read ECONNRESET) — the job did not stop within 0.2 s of it (stuck closing input numbers (numbers)); exiting without a clean stop']);
    running.done.catch(() => {});
  });

  it('so does a run whose operator failed, when its stop hangs', async (t) => {
    const exits: Array<number | undefined> = [];
    t.mock.method(process, 'exit', (code?: number) => void exits.push(code));
    const lines: string[] = [];
    const throwing = defineJob({
      name: 'throws',
      inputs: { numbers: input('numbers', { parse: (value: unknown) => Number(value) }) },
      outputs: { out: output<number>('out') },
      pipeline: ({ numbers }) =>
        numbers.pipe(
          map((n) => {
            if (n === 50) throw new Error('bad record');
            return n;
          }),
        ),
    });
    const { running } = startTestJob(throwing, { sources: { numbers: stuckOnClose() }, sinks: { out: collectSink({ delayMs: 1 }) }, maxInFlight: 100 });
    boundFailedStop(running, (line) => lines.push(line), 200);
    await running.failed;
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(exits, [1]);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /bad record.* — the job did not stop within 0\.2 s of it \(stuck closing input numbers \(numbers\)\); exiting without a clean stop$/);
    running.done.catch(() => {});
  });

  it('names the step it was stuck in: here a write that never returns, as a send to a broker that went away', async (t) => {
    const exits: Array<number | undefined> = [];
    t.mock.method(process, 'exit', (code?: number) => void exits.push(code));
    const lines: string[] = [];
    let writes = 0;
    const hanging = { name: 'hanging', write: () => (++writes > 3 ? new Promise<void>(() => {}) : Promise.resolve()) };
    const { running } = startTestJob(job, { sources: { numbers: generatorSource({ name: 'numbers', count: Infinity, make: (i) => i }) }, sinks: { out: hanging }, maxInFlight: 100 });
    await running.started;
    boundFailedStop(running, (line) => lines.push(line), 200);
    await eventually('the fourth write, which hangs', () => writes > 3, { everyMs: 5 });
    running.fail(new SluiceError('could not commit'));
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(exits, [1]);
    assert.deepEqual(lines, ['could not commit — the job did not stop within 0.2 s of it (stuck writing what the outputs hold); exiting without a clean stop']);
    running.done.catch(() => {});
  });

  it('a run that stops in time is not exited', async (t) => {
    const exits: Array<number | undefined> = [];
    t.mock.method(process, 'exit', (code?: number) => void exits.push(code));
    const { running } = startTestJob(job, { sources: { numbers: generatorSource({ name: 'numbers', count: Infinity, make: (i) => i }) }, sinks: { out: collectSink({ delayMs: 1 }) }, maxInFlight: 100 });
    await running.started;
    boundFailedStop(running, () => {}, 2000);
    running.fail(new SluiceError('could not commit'));
    await assert.rejects(running.done, /could not commit/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(exits, []);
  });
});
