import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { defineJob, input, output } from '../../core/index.ts';
import { deadLetterWhen } from '../../operators/index.ts';
import { runTestJob } from '../kit/jobs.ts';

describe('deadLetterWhen', () => {
  it('dead-letters exactly the records the check gives a reason for, with that reason and the stage, and passes the rest in order', async () => {
    const amounts = [5, 2e7, 7, 3e7, 9];
    const job = defineJob({
      name: 'limits',
      inputs: { amounts: input('amounts', { parse: (value: unknown) => Number(value) }) },
      outputs: { kept: output<number>('kept') },
      pipeline: ({ amounts }) => amounts.pipe(deadLetterWhen((amount) => (amount > 1e7 ? `amount ${amount} is beyond any card limit` : undefined), { stage: 'limits' })),
    });
    const { stats, deadLetters, outputs } = await runTestJob(job, { sources: { amounts: generatorSource({ count: amounts.length, make: (i) => amounts[i]! }) } });
    assert.deepEqual(outputs['kept']!.values, [5, 7, 9]);
    assert.deepEqual(
      deadLetters.map((letter) => [letter.offset, letter.stage, letter.reason]),
      [
        [1, 'limits', 'amount 20000000 is beyond any card limit'],
        [3, 'limits', 'amount 30000000 is beyond any card limit'],
      ],
    );
    assert.equal(stats.deadLettered, 2);
    assert.equal(stats.out, 3);
  });
});
