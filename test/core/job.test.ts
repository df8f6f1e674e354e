import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { defineJob, input, output, resolveSettings, setting, type JobSpec } from '../../core/index.ts';

describe('defineJob', () => {
  it('names every missing part of a job in one message', () => {
    assert.throws(() => defineJob({ name: 'x y' } as unknown as JobSpec<{}, {}, {}>), {
      name: 'JobDefinitionError',
      message:
        'invalid job definition: `name` must be a non-empty string of letters, digits, ".", "_" or "-"; `pipeline` must be a function (got undefined); `inputs` must name at least one input, e.g. { transactions: input(\'transactions\', schema) }; `outputs` must name at least one output, e.g. { decisions: output(\'decisions\') }',
    });
  });

  it('tells a user of the old API what replaced source and sink', () => {
    const old = { name: 'old', inputs: { a: input('a', z.number()) }, outputs: { b: output('b') }, pipeline: () => undefined, source: () => undefined };
    assert.throws(() => defineJob(old as unknown as JobSpec<{}, {}, {}>), /`source`\/`sink` are gone: declare `inputs` and `outputs`/);
  });

  it('checks that the pipeline returns a stream for each declared output', () => {
    const job = defineJob({ name: 'two', inputs: { a: input('a', z.number()) }, outputs: { b: output<number>('b'), c: output<number>('c') }, pipeline: ({ a }) => ({ b: a, c: a }) });
    assert.throws(() => job.build({ a: undefined as never }, {}), /pipeline must return a stream for each output \(b, c\); missing: b, c/);
  });
});

describe('settings', () => {
  const spec = {
    threshold: setting.number(0.7, 'flag at or above', { min: 0, max: 1 }),
    count: setting.integer(100, 'records'),
    serving: setting.choice(['embedded', 'enricher'], 'embedded', 'where the model runs'),
    verbose: setting.boolean(false, 'say more'),
  };

  it('gives the defaults, typed, and the values set', () => {
    assert.deepEqual(resolveSettings(spec, {}), { threshold: 0.7, count: 100, serving: 'embedded', verbose: false });
    assert.deepEqual(resolveSettings(spec, { threshold: '0.9', serving: 'enricher', verbose: 'true' }), { threshold: 0.9, count: 100, serving: 'enricher', verbose: true });
  });

  it('refuses an unknown setting with the nearest known name, and ill-typed values, in one line', () => {
    assert.throws(() => resolveSettings(spec, { cuont: '5' }), {
      name: 'InvalidOptionError',
      message: '--set cuont: this job has no setting "cuont" — did you mean "count"? (settings: threshold, count, serving, verbose)',
    });
    assert.throws(() => resolveSettings(spec, { count: '1.5', threshold: '2', serving: 'gpu' }), {
      message: '--set count=1.5: expected an integer; --set threshold=2: must be at most 1; --set serving=gpu: expected one of embedded, enricher',
    });
  });
});
