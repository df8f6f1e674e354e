import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { freshKafkajs } from '../kit/kafkajsUpstream.mjs';

// patches/kafkajs+2.2.4.patch (applied by `npm ci`'s postinstall) changes how kafkajs builds a
// produce request, never what it sends: the installed kafkajs must encode byte for byte what
// kafkajs 2.2.4 as published does (rebuilt by the kit, which takes the patch back out of a copy).
const require = createRequire(import.meta.url);

type Message = { key?: string | Buffer | null; value: string | Buffer | null; headers?: Record<string, string | Buffer | (string | Buffer)[]>; timestamp?: string };
type ProduceRequest = (args: { acks: number; timeout: number; compression?: number; topicData: unknown[] }) => { encode(): Promise<{ buffer: Buffer }> };
type Group = (args: { topic: string; partitionMetadata: unknown[]; messages: Message[]; partitioner: (args: { message: Message }) => number }) => Record<string, Message[]>;

function load(variant: 'upstream' | 'installed'): { produce: ProduceRequest; group: Group } {
  return {
    produce: freshKafkajs('node_modules/kafkajs/src/protocol/requests/produce/v3/request.js', variant) as ProduceRequest,
    group: freshKafkajs('node_modules/kafkajs/src/producer/groupMessagesPerPartition.js', variant) as Group,
  };
}

/** Deterministic messages of every shape a producer may send: string and byte keys and values, no key, headers (repeated too), with and without timestamps. */
function messages(count: number, seed: number): Message[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: count }, (_, i) => {
    const kind = Math.floor(next() * 5);
    const text = `{"id":${i},"score":${next()},"note":"${'é€'.repeat(Math.floor(next() * 40))}"}`;
    return {
      key: kind === 0 ? null : kind === 1 ? Buffer.from([i & 255, 0, 255]) : `user-${Math.floor(next() * 5000)}`,
      value: kind === 2 ? Buffer.from(text) : kind === 3 && i % 7 === 0 ? null : text.repeat(1 + Math.floor(next() * 30)),
      ...(kind === 4 ? { headers: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, 'model-version': ['fraud@1', Buffer.from('fraud@2')] } } : {}),
      ...(i % 3 === 0 ? { timestamp: String(1_800_000_000_000 + Math.floor(next() * 100_000) - 50_000) } : {}),
    };
  });
}

async function encode(produce: ProduceRequest, list: Message[], partitions: number): Promise<Buffer> {
  const byPartition = new Map<number, Message[]>();
  list.forEach((message, i) => byPartition.set(i % partitions, [...(byPartition.get(i % partitions) ?? []), message]));
  const realNow = Date.now;
  Date.now = () => 1_800_000_000_123; // messages without a timestamp get "now": the same in both encodings
  try {
    const request = produce({ acks: -1, timeout: 30_000, topicData: [{ topic: 'scores', partitions: [...byPartition].map(([partition, messages]) => ({ partition, firstSequence: 0, messages })) }] });
    return Buffer.from((await request.encode()).buffer);
  } finally {
    Date.now = realNow;
  }
}

describe('patched kafkajs (patches/kafkajs+2.2.4.patch)', () => {
  const upstream = load('upstream');
  const installed = load('installed');

  it('is applied to the installed kafkajs (npm ci runs patch-package)', () => {
    const source = readFileSync(require.resolve('kafkajs/src/protocol/encoder.js'), 'utf8');
    assert.match(source, /Patched by Sluice/, 'node_modules/kafkajs is not patched: run npm ci (its postinstall applies patches/)');
  });

  it('is compared with kafkajs 2.2.4 as published, entry modules included', () => {
    // Sluice's additions to the admin and producer modules (see docs/kafka.md) are absent upstream.
    const admin = (variant: 'upstream' | 'installed') => String(freshKafkajs('node_modules/kafkajs/src/admin/index.js', variant));
    const producer = (variant: 'upstream' | 'installed') => String(freshKafkajs('node_modules/kafkajs/src/producer/index.js', variant));
    assert.doesNotMatch(admin('upstream'), /fetchFirstRecords/);
    assert.match(admin('installed'), /fetchFirstRecords/);
    assert.doesNotMatch(producer('upstream'), /addPartitions/);
    assert.match(producer('installed'), /addPartitions/);
  });

  it('encodes produce requests byte for byte as kafkajs 2.2.4 does', async () => {
    for (const [count, partitions, seed] of [[1, 1, 1], [50, 1, 2], [1000, 16, 3], [777, 5, 4], [3000, 8, 5], [20_000, 1, 6]] as const) {
      const list = messages(count, seed);
      const [theirs, ours] = [await encode(upstream.produce, list, partitions), await encode(installed.produce, list, partitions)];
      assert.equal(ours.length, theirs.length, `${count} messages over ${partitions} partitions: lengths differ`);
      assert.ok(ours.equals(theirs), `${count} messages over ${partitions} partitions: the bytes differ`);
    }
  });

  it('groups messages by partition as kafkajs 2.2.4 does, in the same order', () => {
    const list = messages(2000, 9);
    const partitionMetadata = Array.from({ length: 16 }, (_, partitionId) => ({ partitionId }));
    const partitioner = ({ message }: { message: Message }) => (typeof message.key === 'string' ? message.key.length * 7 : 3) % 16;
    const args = { topic: 'scores', partitionMetadata, messages: list, partitioner };
    assert.deepEqual(installed.group(args), upstream.group(args));
    assert.deepEqual(installed.group({ ...args, partitionMetadata: [] }), {});
  });
});
