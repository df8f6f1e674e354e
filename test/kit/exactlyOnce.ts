/**
 * Helpers for the exactly-once scenario tests: a numbered input for the key-counter job (with a
 * bad record now and then, so dead letters are covered too), and the check a read_committed
 * reader makes of its output: every (key, seq) exactly once, counted as `seq`.
 *
 * @example
 * await produceMessages(brokers, topic, numberedInput(40, 1, 500));
 * const got = await consumeUntil(brokers, out, { until: (m) => m.length >= 40 * 500, timeoutMs: 60_000 });
 * assertExactlyOnce(got, 40, 500);
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureKafkaJars } from './kafkaJars.ts';
import { createTestKafka, TEST_CONSUMER_TIMINGS, type ConsumedMessage } from './kafka.ts';

const execFileAsync = promisify(execFile);
const kitDir = dirname(fileURLToPath(import.meta.url));

/**
 * Everything a read_committed reader sees of `topic`, up to its last stable offset: read by
 * Kafka's own Java consumer (`test/kit/kafka/ReadCommitted.java`, run on the kit's jars), the
 * ground truth. kafkajs 2.2.4 is not used for this: its filter of aborted records
 * (filterAbortedMessages) steps into at most one aborted transaction per record, so when a
 * fetch starts inside several aborted transactions of different producers of one partition
 * (four transactional producers writing one dead-letter partition, say) some aborted records
 * leak through.
 */
export async function readCommitted(brokers: string[], topic: string): Promise<ConsumedMessage[]> {
  const libs = await ensureKafkaJars();
  const { stdout } = await execFileAsync('java', ['-cp', `${libs}/*`, join(kitDir, 'kafka', 'ReadCommitted.java'), brokers.join(','), topic], { maxBuffer: 512 * 1024 * 1024, timeout: 120_000 });
  const decode = (text: string) => (text === '-' ? null : Buffer.from(text, 'base64'));
  return stdout
    .split('\n')
    .filter((line) => line !== '' && /^\d+ \d+ /.test(line))
    .map((line) => {
      const [partition, offset, key, value] = line.split(' ') as [string, string, string, string];
      return { topic, partition: Number(partition), offset, key: decode(key), value: decode(value), headers: {}, timestamp: '0' };
    });
}

/**
 * What the brokers say about transactions, for a failure message: each incomplete transaction
 * (state, epoch, partitions, age), each partition's high watermark against its last stable
 * offset, and the group's committed offsets (`test/kit/kafka/DescribeTransactions.java`).
 */
export async function describeTransactions(brokers: string[], group: string, topics: string[]): Promise<string> {
  const libs = await ensureKafkaJars();
  try {
    const { stdout } = await execFileAsync('java', ['-cp', `${libs}/*`, join(kitDir, 'kafka', 'DescribeTransactions.java'), brokers.join(','), group, ...topics], { timeout: 60_000 });
    return stdout.trim();
  } catch (error) {
    return `(could not describe the transactions: ${(error as Error).message.split('\n')[0]})`;
  }
}

/** Reads `topic` with isolation.level=read_uncommitted (aborted records included) until `expected` arrived. */
export async function readUncommitted(brokers: string[], topic: string, expected: number, timeoutMs = 30_000): Promise<ConsumedMessage[]> {
  const consumer = createTestKafka(brokers, { clientId: 'sluice-test-uncommitted' }).consumer({ groupId: `sluice-test-${randomUUID()}`, readUncommitted: true, ...TEST_CONSUMER_TIMINGS });
  const received: ConsumedMessage[] = [];
  let enough!: () => void;
  const done = new Promise<void>((resolve) => (enough = resolve));
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) received.push({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers ?? {}, timestamp: m.timestamp });
        if (received.length >= expected) enough();
      },
    });
    const outcome = await Promise.race([done.then(() => 'ok' as const), new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))]);
    if (outcome === 'timeout') throw new Error(`readUncommitted(${topic}): ${received.length} of ${expected} messages within ${timeoutMs} ms`);
    return received;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

/**
 * `perKey` records for each of `keys` keys, numbered from `from`; after every `badEvery`-th
 * record of the whole numbering comes one that is not JSON (a dead letter).
 */
export function numberedInput(keys: number, from: number, perKey: number, badEvery = 199): { key: string; value: string }[] {
  const messages: { key: string; value: string }[] = [];
  for (let seq = from; seq < from + perKey; seq += 1) {
    for (let k = 0; k < keys; k += 1) {
      messages.push({ key: `k${k}`, value: JSON.stringify({ key: `k${k}`, seq }) });
      if (((seq - 1) * keys + k + 1) % badEvery === 0) messages.push({ key: `k${k}`, value: `{broken ${seq}` });
    }
  }
  return messages;
}

/** How many of `messages` are the bad records of {@link numberedInput}. */
export function badRecords(messages: readonly { value: string }[]): number {
  return messages.filter((m) => m.value.startsWith('{broken')).length;
}

/** Distinct (key, seq) outputs; fails on a count that is not its seq (state lost or doubled). */
export function countedOutputs(messages: readonly ConsumedMessage[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const message of messages) {
    const { key, seq, count } = JSON.parse(message.value!.toString()) as { key: string; seq: number; count: number };
    assert.equal(count, seq, `${key} #${seq} was counted as ${count}: state was lost or counted twice`);
    const id = `${key}#${seq}`;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

/** Asserts every (key, seq) of `keys` × `perKey` came exactly once: nothing lost, nothing twice. */
export function assertExactlyOnce(messages: readonly ConsumedMessage[], keys: number, perKey: number): void {
  const seen = countedOutputs(messages);
  const duplicates = [...seen].filter(([, n]) => n > 1);
  assert.equal(duplicates.length, 0, `${duplicates.length} outputs seen more than once by a read_committed reader, e.g. ${duplicates.slice(0, 5).map(([id, n]) => `${id} x${n}`).join(', ')}`);
  const missing: string[] = [];
  for (let k = 0; k < keys; k += 1) for (let seq = 1; seq <= perKey; seq += 1) if (!seen.has(`k${k}#${seq}`)) missing.push(`k${k}#${seq}`);
  assert.equal(missing.length, 0, `${missing.length} outputs lost, e.g. ${missing.slice(0, 5).join(', ')}`);
  assert.equal(messages.length, keys * perKey);
}

/**
 * Asserts the outputs are exactly the results of the input topic's records as they stand:
 * each good input (in its partition's order) once, counted as an uninterrupted run counts it.
 * For tests whose feed may itself lose or repeat records (a plain producer's retry across a
 * broker kill): what Sluice must do is judged against what Kafka holds, not what was sent.
 * Returns the (key, seq) pairs that were sent but are missing from the input, for the report.
 */
export function assertExactlyOnceOfInput(outputs: readonly ConsumedMessage[], inputs: readonly ConsumedMessage[], keys: number, perKey: number): string[] {
  const expected = new Map<string, number>();
  const perKeyCount = new Map<string, number>();
  const sentSeen = new Set<string>();
  const ordered = [...inputs].sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
  for (const message of ordered) {
    const text = message.value!.toString();
    if (text.startsWith('{broken')) continue;
    const { key, seq } = JSON.parse(text) as { key: string; seq: number };
    const count = (perKeyCount.get(key) ?? 0) + 1;
    perKeyCount.set(key, count);
    expected.set(`${key}#${seq}@${count}`, 0);
    sentSeen.add(`${key}#${seq}`);
  }
  const unexpected: string[] = [];
  for (const message of outputs) {
    const { key, seq, count } = JSON.parse(message.value!.toString()) as { key: string; seq: number; count: number };
    const id = `${key}#${seq}@${count}`;
    const seen = expected.get(id);
    if (seen === undefined) unexpected.push(id);
    else expected.set(id, seen + 1);
  }
  assert.equal(unexpected.length, 0, `${unexpected.length} outputs that no input explains (state lost or counted twice), e.g. ${unexpected.slice(0, 5).join(', ')}`);
  const twice = [...expected].filter(([, n]) => n > 1);
  assert.equal(twice.length, 0, `${twice.length} outputs seen more than once by a read_committed reader, e.g. ${twice.slice(0, 5).map(([id, n]) => `${id} x${n}`).join(', ')}`);
  const lost = [...expected].filter(([, n]) => n === 0);
  assert.equal(lost.length, 0, `${lost.length} inputs without their output, e.g. ${lost.slice(0, 5).map(([id]) => id).join(', ')}`);
  const missingFromInput: string[] = [];
  for (let k = 0; k < keys; k += 1) for (let seq = 1; seq <= perKey; seq += 1) if (!sentSeen.has(`k${k}#${seq}`)) missingFromInput.push(`k${k}#${seq}`);
  return missingFromInput;
}

