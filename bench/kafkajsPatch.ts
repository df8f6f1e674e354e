/**
 * Micro-benchmark of patches/kafkajs+2.2.4.patch (applied by `npm ci`'s postinstall), upstream
 * kafkajs 2.2.4 against the installed one, alternating in one process:
 * - grouping a send's messages by partition (upstream copies the partition's array per message);
 * - encoding a produce request (upstream copies each message with a spread, makes an array and
 *   a Buffer per varint, zero-fills a 512-byte encoder per record and builds Long objects for
 *   each record's timestamp delta).
 * Both must give the same result first (test/patches/kafkajs.test.ts checks it too). Prints
 * time per message and the ratio; figures, not a test.
 *
 *   npm run bench:kafkajs-patch
 */
import { freshKafkajs } from '../test/kit/kafkajsUpstream.mjs';

type Message = { key: string; value: string; headers?: Record<string, string> };
type Group = (args: { topic: string; partitionMetadata: unknown[]; messages: Message[]; partitioner: (args: { message: Message }) => number }) => Record<string, Message[]>;
type Produce = (args: { acks: number; timeout: number; topicData: unknown[] }) => { encode(): Promise<{ buffer: Buffer }> };

const GROUPING = 'node_modules/kafkajs/src/producer/groupMessagesPerPartition.js';
const ROUNDS = 5;
const PRODUCE = 'node_modules/kafkajs/src/protocol/requests/produce/v3/request.js';

const messages = (count: number): Message[] =>
  Array.from({ length: count }, (_, i) => ({ key: `user-${i % 5000}`, value: JSON.stringify({ id: i, createdAt: 1_800_000_000_000 + i, userId: `user-${i % 5000}`, score: (i % 997) / 997 }) }));

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

async function timeIt(run: () => unknown | Promise<unknown>, count: number, perMessage: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i += 1) await run();
  return Number(process.hrtime.bigint() - started) / (count * perMessage);
}

async function compare(label: string, theirs: () => unknown | Promise<unknown>, ours: () => unknown | Promise<unknown>, count: number, perMessage: number): Promise<void> {
  for (let i = 0; i < 3; i += 1) await theirs(), await ours();
  const [a, b]: [number[], number[]] = [[], []];
  for (let round = 0; round < ROUNDS; round += 1) {
    a.push(await timeIt(theirs, count, perMessage));
    b.push(await timeIt(ours, count, perMessage));
  }
  console.log(`${label.padEnd(58)} upstream ${median(a).toFixed(0).padStart(6)} ns/message   patched ${median(b).toFixed(0).padStart(5)} ns/message   ${(median(a) / median(b)).toFixed(2)}x`);
}

const installedGrouping = freshKafkajs(GROUPING, 'installed') as Group;
const upstreamGrouping = freshKafkajs(GROUPING, 'upstream') as Group;
for (const [perSend, partitions] of [[1000, 16], [1000, 1], [10_000, 16]] as const) {
  const list = messages(perSend);
  const args = { topic: 't', partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({ partitionId })), messages: list, partitioner: ({ message }: { message: Message }) => Number(message.key.slice(5)) % partitions };
  if (JSON.stringify(upstreamGrouping(args)) !== JSON.stringify(installedGrouping(args))) throw new Error('the groupings differ');
  await compare(`group ${perSend.toLocaleString('en-US')} per send over ${partitions} partition${partitions === 1 ? '' : 's'}`, () => upstreamGrouping(args), () => installedGrouping(args), Math.max(5, Math.round(400_000 / perSend / (partitions === 1 ? 10 : 1))), perSend);
}

const [theirProduce, ourProduce] = [freshKafkajs(PRODUCE, 'upstream') as Produce, freshKafkajs(PRODUCE, 'installed') as Produce];
for (const [perSend, partitions] of [[1000, 16], [1000, 1]] as const) {
  const list = messages(perSend);
  const topicData = [{ topic: 'scores', partitions: Array.from({ length: partitions }, (_, partition) => ({ partition, firstSequence: 0, messages: list.filter((_, i) => i % partitions === partition) })) }];
  const encode = (produce: Produce) => produce({ acks: -1, timeout: 30_000, topicData }).encode();
  const now = Date.now;
  Date.now = () => 1_800_000_000_000;
  try {
    if (!Buffer.from((await encode(theirProduce)).buffer).equals(Buffer.from((await encode(ourProduce)).buffer))) throw new Error('the encodings differ');
    await compare(`encode a produce request, ${perSend.toLocaleString('en-US')} messages, ${partitions} partition${partitions === 1 ? '' : 's'}`, () => encode(theirProduce), () => encode(ourProduce), 60, perSend);
  } finally {
    Date.now = now;
  }
}
