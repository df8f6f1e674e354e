import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freshKafkajs } from '../kit/kafkajsUpstream.mjs';

// patches/kafkajs+2.2.4.patch answers SeekOffsets.has at once while the map is empty (kafkajs
// asks it for every message of a batch through eachBatch's isStale, and made a JSON key each
// time): the answers must stay upstream's.
type SeekOffsets = Map<string, string> & {
  set(topic: string, partition: number, offset: string): void;
  has(topic: string, partition: number): boolean;
  pop(topic: string, partition: number): { topic: string; partition: number; offset: string } | undefined;
};

function answers(variant: 'upstream' | 'installed'): unknown[] {
  const SeekOffsets = freshKafkajs('node_modules/kafkajs/src/consumer/seekOffsets.js', variant) as new () => SeekOffsets;
  const seeks = new SeekOffsets();
  const out: unknown[] = [seeks.has('t', 0), seeks.pop('t', 0)];
  seeks.set('t', 0, '42');
  out.push(seeks.has('t', 0), seeks.has('t', 1), seeks.has('u', 0), seeks.pop('t', 1));
  seeks.set('t', 0, '43');
  out.push(seeks.pop('t', 0), seeks.has('t', 0), seeks.pop('t', 0), seeks.size);
  return out;
}

describe('kafkajs SeekOffsets (patched)', () => {
  it('answers has and pop as kafkajs 2.2.4 does, empty or not', () => {
    const installed = answers('installed');
    assert.deepEqual(installed, answers('upstream'));
    assert.deepEqual(installed, [false, undefined, true, false, false, undefined, { topic: 't', partition: 0, offset: '43' }, false, undefined, 0]);
  });
});
