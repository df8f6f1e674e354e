import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineJob, type JobDefinition } from '../../core/job.ts';

describe('defineJob', () => {
  it('names every missing part of a job in one message', () => {
    assert.throws(() => defineJob({ name: 'x y' } as unknown as JobDefinition<unknown, unknown>), {
      name: 'JobDefinitionError',
      message: 'invalid job definition: `name` must be a non-empty string of letters, digits, ".", "_" or "-"; `source` must be a function (got undefined); `pipeline` must be a function (got undefined); `sink` must be a function (got undefined)',
    });
  });
});
