import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { defineJob } from '../../core/job.ts';
import { collectSink } from '../../connectors/collectSink.ts';
import { generatorSource } from '../../connectors/generatorSource.ts';
import { decodeJson } from '../../operators/decodeJson.ts';
import type { InferencePool } from '../../runtime/inferencePool.ts';
import { runTestJob, testPool } from '../kit/jobs.ts';

const point = z.object({ x: z.number(), y: z.number() });

describe('decodeJson', () => {
  let pool: InferencePool;
  before(() => {
    pool = testPool(1);
  });
  after(() => pool.close());

  it('passes valid records on and dead-letters malformed and invalid ones with the reason', async () => {
    const inputs: Array<string | Uint8Array> = ['{"x":1,"y":2}', '{"x":1,', '{"x":"one","y":2}', new TextEncoder().encode('{"x":3,"y":4}'), new Uint8Array([0xff, 0xfe])];
    const sink = collectSink<z.infer<typeof point>>();
    const job = defineJob<string | Uint8Array, z.infer<typeof point>>({
      name: 'decode',
      source: () => generatorSource({ count: inputs.length, make: (i) => inputs[i]! }),
      pipeline: (ctx) => decodeJson(ctx, (value) => point.parse(value)),
      sink: () => sink,
    });
    const { stats, deadLetters } = await runTestJob(job, { inference: pool });
    assert.deepEqual(sink.values, [{ x: 1, y: 2 }, { x: 3, y: 4 }]);
    assert.equal(stats.in, stats.out + stats.deadLettered);
    assert.deepEqual(deadLetters.map((letter) => [letter.offset, letter.stage]), [[1, 'decode'], [2, 'decode'], [4, 'decode']]);
    assert.match(deadLetters[0]!.reason, /^malformed JSON: /);
    assert.equal(deadLetters[1]!.reason, 'invalid record: x: expected number, received string');
    assert.match(deadLetters[2]!.reason, /^malformed JSON: /, 'bytes that are not UTF-8');
  });
});
