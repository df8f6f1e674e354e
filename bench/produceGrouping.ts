/**
 * Micro-benchmark of kafkajs' per-send grouping of messages by partition: the upstream 2.2.4
 * function (copies the partition's array once per message) against the installed one (patched
 * by patches/kafkajs+2.2.4.patch through `npm ci`'s postinstall), alternating in one process.
 * Prints ns per message and the ratio; figures, not a test.
 *
 *   npm run bench:grouping
 */
import { groupingIsPatched, installedGroupMessages, upstreamGroupMessages, type GroupMessages } from './upstreamGrouping.ts';

const installed = installedGroupMessages();
const cases = [
  { perSend: 1000, partitions: 16, label: '1,000 per send, 16 partitions (the sink default)' },
  { perSend: 1000, partitions: 1, label: '1,000 per send, 1 partition' },
  { perSend: 10_000, partitions: 16, label: '10,000 per send, 16 partitions' },
];
const ROUNDS = 5;

console.log(`installed kafkajs grouping: ${groupingIsPatched() ? 'patched (appends in place)' : 'upstream (NOT patched: run npm ci)'}`);
for (const { perSend, partitions, label } of cases) {
  const partitionMetadata = Array.from({ length: partitions }, (_, partition) => ({ partitionId: partition }));
  const messages = Array.from({ length: perSend }, (_, i) => ({ key: `user-${i % 5000}`, value: '{}', partition: (i * 7919) % partitions }));
  const partitioner = ({ message }: { message: unknown }) => (message as { partition: number }).partition;
  const args = { topic: 't', partitionMetadata, messages, partitioner };
  // The two must agree before their speed means anything.
  if (JSON.stringify(upstreamGroupMessages(args)) !== JSON.stringify(installed(args))) throw new Error('installed grouping differs from upstream');
  const time = (group: GroupMessages) => {
    const sends = Math.max(20, Math.round(2_000_000 / perSend / (partitions === 1 ? 10 : 1)));
    const started = process.hrtime.bigint();
    for (let i = 0; i < sends; i += 1) group(args);
    return Number(process.hrtime.bigint() - started) / (sends * perSend);
  };
  const upstream: number[] = [];
  const patched: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    upstream.push(time(upstreamGroupMessages));
    patched.push(time(installed));
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const [u, p] = [median(upstream), median(patched)];
  console.log(`${label.padEnd(50)} upstream ${u.toFixed(0).padStart(6)} ns/message   installed ${p.toFixed(0).padStart(4)} ns/message   ${(u / p).toFixed(1)}x`);
}
