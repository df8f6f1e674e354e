/**
 * Real-time fraud detection, the seed's job: transactions in, per-user features from keyed
 * state, micro-batched ONNX scoring on the worker pool, a decision out.
 *
 *   npm start                                          # synthetic transactions, flagged ones to out/
 *   sluice run jobs/fraud-detection.ts --set count=2000000 --workers 2
 *   sluice run jobs/fraud-detection.ts --set input=transactions.jsonl --set output=out/alerts.jsonl
 *   sluice produce --brokers localhost:9092 --count 1000000            # then, on Kafka:
 *   sluice run jobs/fraud-detection.ts --brokers localhost:9092         # transactions → fraud-decisions
 *
 * Settings (--set name=value): count, rate (events/s), users, fraudRatio, seed (synthetic
 * source); input (a JSONL file instead); output (file of flagged decisions); threshold; batch
 * (records per model call, 512; 1 scores one at a time).
 * With --brokers it reads --input-topic (default `transactions`), writes every decision to
 * --output-topic (`fraud-decisions`) and dead letters to --dead-letter-topic (`fraud-dead-letters`).
 */
import { fileURLToPath } from 'node:url';
import { pipe } from 'rxjs';
import { defineJob, numberSetting, type RunEnvironment, type Source } from '../core/index.ts';
import { deadLetterFileSink, generatorSource, jsonDecoder, jsonlFileSink, jsonlFileSource } from '../connectors/index.ts';
import { kafkaDeadLetterSink, kafkaSink, kafkaSource } from '../connectors/kafka/index.ts';
import { infer, mapValue, microBatch } from '../operators/index.ts';
import { decide, FRAUD_THRESHOLD, type FraudDecision } from './fraud/decision.ts';
import { FEATURE_COUNT } from './fraud/features.ts';
import { parseTransaction, TransactionGenerator, type Transaction } from './fraud/transactions.ts';
import { userFeatures } from './fraud/userFeatures.ts';

const MODEL = fileURLToPath(new URL('../models/fraud-v1.onnx', import.meta.url));

export default defineJob<Transaction, FraudDecision>({
  name: 'fraud-detection',
  source: (env) => transactionSource(env),
  pipeline: (ctx) => {
    const threshold = numberSetting(ctx.env, 'threshold', FRAUD_THRESHOLD);
    return pipe(
      userFeatures(ctx),
      microBatch({ maxSize: numberSetting(ctx.env, 'batch', 512), maxWaitMs: 5 }),
      infer(ctx, {
        model: ctx.env.settings.model ?? MODEL,
        columns: FEATURE_COUNT,
        features: (featured) => featured.features,
        // The seed's safe default: when the model cannot answer, flag for review.
        fallbackScore: 1,
        timeoutMs: 2000,
        output: (featured, prediction) => ({ tx: featured.tx, prediction }),
      }),
      mapValue(({ tx, prediction }) => decide(tx, prediction, threshold), ctx, 'decision'),
    );
  },
  // On Kafka every decision is written (keyed by user, with model-version and traceparent
  // headers); embedded, only the flagged ones go to a file.
  sink: (env) =>
    env.kafka === undefined
      ? jsonlFileSink<FraudDecision>({ path: env.settings.output ?? 'out/fraud-alerts.jsonl', filter: (decision) => decision.flagged })
      : kafkaSink<FraudDecision>({ settings: env.kafka, topic: env.topics.output ?? 'fraud-decisions' }),
  deadLetter: (env) =>
    env.kafka === undefined
      ? deadLetterFileSink('.sluice/fraud-detection/dead-letters.jsonl')
      : kafkaDeadLetterSink({ settings: env.kafka, topic: env.topics.deadLetter ?? 'fraud-dead-letters' }),
  countAs: { label: 'flagged', test: (decision) => decision.flagged },
});

/** Kafka with `--brokers`; otherwise synthetic transactions, or a JSONL file with `--set input=path`. */
function transactionSource(env: RunEnvironment): Source<Transaction> {
  const key = (tx: Transaction) => tx.userId;
  const timestamp = (tx: Transaction) => tx.timestamp;
  if (env.kafka !== undefined) {
    return kafkaSource({ settings: env.kafka, topic: env.topics.input ?? 'transactions', decode: jsonDecoder(parseTransaction), timestamp });
  }
  if (env.settings.input !== undefined) {
    return jsonlFileSource({ path: env.settings.input, decode: jsonDecoder(parseTransaction), key, timestamp });
  }
  const generator = new TransactionGenerator({
    seed: numberSetting(env, 'seed', 42),
    users: numberSetting(env, 'users', 5000),
    fraudRatio: numberSetting(env, 'fraudRatio', 0.015),
  });
  return generatorSource({
    name: 'synthetic-transactions',
    count: numberSetting(env, 'count', 500_000),
    ratePerSecond: env.settings.rate === undefined ? undefined : numberSetting(env, 'rate', 0),
    partitions: 4,
    make: () => generator.next(),
    key,
    timestamp,
  });
}
