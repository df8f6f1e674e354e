/**
 * Feeds generated fraud-job transactions into a topic for Kafka scenario tests: all at once or
 * paced (so a job is still mid-stream when the test kills, stops or disconnects something), and
 * reads them back by position.
 *
 * @example
 * const feed = startTransactionFeed(kafka.brokers, 'tx', { count: 20_000, perSecond: 5_000 });
 * await feed.done;
 */
import { Partitioners } from 'kafkajs';
import { TransactionGenerator } from '../../jobs/fraud/transactions.ts';
import { consumeAll, createTestKafka, type ConsumedMessage } from './kafka.ts';
import { highWatermarks } from './sluiceProcess.ts';

export interface TransactionFeedOptions {
  count: number;
  /** Records per second; all at once when absent. */
  perSecond?: number;
  /** Records per send. Default 500. */
  batchSize?: number;
  seed?: number;
  /** kafkajs retries per send; raise it to ride out a broker outage. Default 5. */
  retries?: number;
}

export interface TransactionFeed {
  /** Resolves when every record was acknowledged. */
  readonly done: Promise<void>;
  /** Records acknowledged so far. */
  sent(): number;
}

/** Produces `count` transactions keyed by user, in batches, paced when `perSecond` is given. */
export function startTransactionFeed(brokers: string[], topic: string, options: TransactionFeedOptions): TransactionFeed {
  const generator = new TransactionGenerator({ seed: options.seed ?? 42 });
  const batchSize = options.batchSize ?? 500;
  let sent = 0;
  const done = (async () => {
    const producer = createTestKafka(brokers, { clientId: 'sluice-test-feed', ...(options.retries === undefined ? {} : { retries: options.retries }) }).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: false,
    });
    await producer.connect();
    try {
      const started = performance.now();
      while (sent < options.count) {
        const n = Math.min(batchSize, options.count - sent);
        const messages = Array.from({ length: n }, () => {
          const tx = generator.next();
          return { key: tx.userId, value: JSON.stringify(tx) };
        });
        await producer.send({ topic, acks: -1, messages });
        sent += n;
        if (options.perSecond !== undefined) {
          const ahead = started + (sent * 1000) / options.perSecond - performance.now();
          if (ahead > 1) await new Promise((resolve) => setTimeout(resolve, ahead));
        }
      }
    } finally {
      await producer.disconnect();
    }
  })();
  return { done, sent: () => sent };
}

/** Every record of a topic, read from the beginning (the count comes from the high watermarks). */
export async function readWholeTopic(brokers: string[], topic: string, timeoutMs = 20_000): Promise<ConsumedMessage[]> {
  const total = [...(await highWatermarks(brokers, topic)).values()].reduce((a, b) => a + b, 0);
  return consumeAll(brokers, topic, { expected: total, timeoutMs });
}

/** The `transactionId`s of fraud-job decisions, with how often each appears. */
export function countDecisions(messages: readonly ConsumedMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) {
    const id = (JSON.parse(m.value!.toString()) as { transactionId: string }).transactionId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** The `in flight peak N` of a `sluice run` summary (which it writes to stderr). */
export function summaryPeakInFlight(stderr: string): number | undefined {
  const match = /in flight\s+peak ([\d,]+)/.exec(stderr);
  return match === null ? undefined : Number(match[1]!.replace(/,/g, ''));
}

/** The `events N in` count of a `sluice run` summary (which it writes to stderr). */
export function summaryIn(stderr: string): number | undefined {
  const match = /events\s+([\d,]+) in/.exec(stderr);
  return match === null ? undefined : Number(match[1]!.replace(/,/g, ''));
}
