import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { defineJob, input, output } from '../../core/index.ts';
import { decodeJson } from '../../operators/decodeJson.ts';
import { runTestJob } from '../kit/jobs.ts';

const point = z.object({ x: z.number(), y: z.number() });
const raw = { parse: (value: unknown) => value as string | Uint8Array };

describe('decodeJson', () => {
  it('passes valid records on and dead-letters malformed and invalid ones with the reason', async () => {
    const inputs: Array<string | Uint8Array> = ['{"x":1,"y":2}', '{"x":1,', '{"x":"one","y":2}', new TextEncoder().encode('{"x":3,"y":4}'), new Uint8Array([0xff, 0xfe])];
    const job = defineJob({
      name: 'decode',
      inputs: { raw: input('raw', raw) },
      outputs: { points: output<z.infer<typeof point>>('points') },
      pipeline: ({ raw }) => raw.pipe(decodeJson(point)),
    });
    const { stats, deadLetters, outputs } = await runTestJob(job, { sources: { raw: generatorSource({ count: inputs.length, make: (i) => inputs[i]! }) } });
    assert.deepEqual(outputs.points!.values, [{ x: 1, y: 2 }, { x: 3, y: 4 }]);
    assert.equal(stats.in, stats.out + stats.deadLettered);
    assert.deepEqual(deadLetters.map((letter) => [letter.offset, letter.stage]), [[1, 'decode'], [2, 'decode'], [4, 'decode']]);
    assert.match(deadLetters[0]!.reason, /^malformed JSON/);
    assert.ok(!deadLetters[0]!.reason.includes('{"x"'), 'the reason does not quote the record');
    assert.equal(deadLetters[1]!.reason, 'invalid record: x: expected number, received string');
    assert.match(deadLetters[2]!.reason, /^malformed JSON: the bytes are not valid UTF-8/);
  });
});
