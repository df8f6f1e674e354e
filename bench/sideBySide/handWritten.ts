/**
 * The baselines of `npm run bench:side-by-side`, each run as its own process:
 *
 * - `score`: what a user writes by hand with kafkajs and onnxruntime-node: `eachBatch`, decode
 *   the batch, one model call for it on this thread, one produce of every score, commit (kafkajs'
 *   default: an offset commit after every partition's batch, awaited before the next fetch). No
 *   backpressure, dead letters, ordering across batches or traces: the lower bound of the work.
 * - `score-tuned`: the same loop as a user who read kafkajs' runner writes it: `autoCommit` off
 *   (with it on, kafkajs commits after every batch, whatever `autoCommitInterval` says) and the
 *   resolved offsets committed at most every 5 s through `commitOffsetsIfNecessary`.
 * - `floor`: the transport floor: consume and count, nothing else, no commits.
 * - `relay`: the two-hop floor: consume, produce each message unchanged (acks -1, not awaited), no
 *   commits (kafkajs' per-batch commit would hold every next fetch for a round trip per partition,
 *   and a floor has nothing to make durable). An implementation's outputs cross Kafka twice
 *   (input, output) where `floor` crosses it once; this is what two crossings cost with no work
 *   between them.
 * - `produce`: the paced upstream: `--rate` events/s for `--count` events from id `--first`.
 *
 *   tsx bench/sideBySide/handWritten.ts score --brokers h:9092 --input in --output out --group g
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Message } from 'kafkajs';
import * as ort from 'onnxruntime-node';
import { makeEvent, type ScoringEvent } from './events.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    brokers: { type: 'string' },
    input: { type: 'string' },
    output: { type: 'string' },
    group: { type: 'string' },
    rate: { type: 'string', default: '1000' },
    count: { type: 'string', default: '0' },
    first: { type: 'string', default: '0' },
  },
});
const role = positionals[0];

/** Most events per send: a producer that fell behind catches up in sends the broker accepts (1 MiB a partition). */
const MAX_PER_SEND = 1000;
const kafka = new Kafka({ clientId: `side-by-side-${role}`, brokers: values.brokers!.split(','), logLevel: logLevel.NOTHING });

if (role === 'score' || role === 'score-tuned' || role === 'floor' || role === 'relay') await consume(role);
else if (role === 'produce') await produce(Number(values.first), Number(values.count), Number(values.rate));
else throw new Error(`unknown role ${role}: score, score-tuned, floor, relay or produce`);

async function consume(mode: 'score' | 'score-tuned' | 'floor' | 'relay'): Promise<void> {
  const tuned = mode === 'score-tuned';
  const session = mode === 'score' || tuned ? await ort.InferenceSession.create(fileURLToPath(new URL('../../models/fraud-v1.onnx', import.meta.url)), { intraOpNumThreads: 1, interOpNumThreads: 1 }) : undefined;
  const producer = kafka.producer();
  if (mode !== 'floor') await producer.connect();
  const consumer = kafka.consumer({ groupId: values.group!, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: values.input!, fromBeginning: true });
  let consumed = 0;
  let firstAt: number | undefined;
  /** The relay's sends not yet acknowledged: awaited before disconnecting, so none fails on the way out. */
  const relaying = new Set<Promise<unknown>>();
  // The floor reports how many it has read: nothing downstream can see a consume-only run.
  const reporter = setInterval(() => process.stdout.write(`${JSON.stringify({ consumed, firstAt, at: Date.now() })}\n`), 250);
  await consumer.run({
    autoCommit: mode === 'score',
    ...(tuned ? { autoCommitInterval: 5000 } : {}),
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
      firstAt ??= Date.now();
      const messages = batch.messages;
      if (messages.length === 0) return;
      if (session !== undefined) {
        const events: ScoringEvent[] = messages.map((m) => JSON.parse(m.value!.toString()) as ScoringEvent);
        const features = new Float32Array(events.length * 10);
        events.forEach((event, row) => features.set(event.features, row * 10));
        const result = await session.run({ features: new ort.Tensor('float32', features, [events.length, 10]) });
        const scores = result.score!.data as Float32Array;
        const out: Message[] = events.map((event, i) => ({ key: event.userId, value: JSON.stringify({ id: event.id, createdAt: event.createdAt, userId: event.userId, score: scores[i] }) }));
        await producer.send({ topic: values.output!, acks: -1, messages: out });
      } else if (mode === 'relay') {
        // The event itself carries the id and creation time the outside consumer reads. Not
        // awaited: a floor, so no batch waits for the previous one's acknowledgement. Cut like the
        // producer's sends: a whole fetched batch re-sent at once can pass the broker's 1 MiB.
        for (let from = 0; from < messages.length; from += MAX_PER_SEND) {
          const send = producer.send({ topic: values.output!, acks: -1, messages: messages.slice(from, from + MAX_PER_SEND).map((m) => ({ key: m.key, value: m.value })) });
          relaying.add(send);
          send.then(() => relaying.delete(send), (error: unknown) => {
            process.stderr.write(`relay: a send failed: ${error instanceof Error ? error.message : String(error)}\n`);
            process.exit(1);
          });
        }
      }
      consumed += messages.length;
      resolveOffset(messages.at(-1)!.offset);
      if (tuned) await commitOffsetsIfNecessary();
      await heartbeat();
    },
  });
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  clearInterval(reporter);
  await Promise.allSettled(relaying);
  await consumer.disconnect();
  await producer.disconnect();
}

/**
 * Sends the events due every 5 ms (a send in flight holds the next ones: they go in one later
 * send); behind schedule it sends again at once instead of waiting. Events are made (and stamped
 * with their creation time) when they are sent.
 */
async function produce(first: number, count: number, rate: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  const started = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * rate) + 1, sent + MAX_PER_SEND);
    if (due > sent) {
      const messages: Message[] = [];
      for (let i = sent; i < due; i += 1) messages.push(makeEvent(first + i));
      await producer.send({ topic: values.output!, acks: 1, messages });
      sent = due;
    }
    const behind = Math.floor(((performance.now() - started) / 1000) * rate) + 1 > sent;
    if (!behind) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await producer.disconnect();
}
