/**
 * Real-time fraud detection: transactions in, per-user features from keyed state, micro-batched
 * ONNX scoring on the worker pool, a decision out for every transaction.
 *
 *   npm start                                                   # 500,000 generated transactions
 *   sluice run jobs/fraud-detection.ts --set count=2000000 --workers 2
 *   sluice run jobs/fraud-detection.ts --input transactions=tx.jsonl --output decisions=-
 *   sluice produce jobs/fraud-detection.ts --brokers localhost:9092 --count 1000000
 *   sluice run jobs/fraud-detection.ts --brokers localhost:9092  # transactions → fraud-decisions
 *   sluice serve models/fraud &                                 # the model as a service (OIP v2)
 *   sluice run jobs/fraud-detection.ts --set serving=enricher --set modelUrl=http://127.0.0.1:8500
 */
import { fileURLToPath } from 'node:url';
import { defineJob, input, output, setting } from 'sluice';
import { enrich, infer, map, materializeFeatures, type Prediction } from 'sluice/operators';
import { decide, FRAUD_THRESHOLD, serviceModelName, type FraudDecision } from './fraud/decision.ts';
import { fraudFeatures } from './fraud/featureView.ts';
import { generateTransactions, generatorSettings } from './fraud/generator.ts';
import { parseTransaction } from './fraud/transactions.ts';
import { userFeatures, type FeaturedTransaction } from './fraud/userFeatures.ts';

export default defineJob({
  name: 'fraud-detection',
  description: 'scores every card transaction with the fraud model and flags the risky ones',
  settings: {
    threshold: setting.number(FRAUD_THRESHOLD, 'score at or above which a transaction is flagged', { min: 0, max: 1 }),
    model: setting.string(fileURLToPath(new URL('../models/fraud', import.meta.url)), 'the model: a registry (newest valid version, swapped while running), registry@N (pinned), or an .onnx file'),
    shadow: setting.string('', 'a candidate model scored beside the serving one, never changing decisions (e.g. models/fraud@next); agreement goes to metrics'),
    batch: setting.integer(512, 'most transactions per model call (1 scores one at a time)', { min: 1 }),
    serving: setting.choice(['embedded', 'enricher'], 'embedded', 'where the model runs: in the job (embedded) or behind the model service at modelUrl (enricher)'),
    modelUrl: setting.string('http://127.0.0.1:8500', 'the Open Inference Protocol service for serving=enricher (sluice serve, Triton, KServe)'),
    redis: setting.optionalString('online store URL, e.g. redis://127.0.0.1:6379 (or REDIS_URL)'),
    featureWriteMs: setting.integer(1000, 'ms between writes of the newest feature rows to Redis (the online store lags the job by about this much)', { min: 0 }),
    servedSample: setting.number(0, 'share of feature rows logged to .sluice/<job>/served-features.jsonl for sluice features check', { min: 0, max: 1 }),
    ...generatorSettings,
  },
  inputs: { transactions: input('transactions', { parse: parseTransaction }, { key: (tx) => tx.userId, time: (tx) => tx.timestamp }) },
  outputs: { decisions: output<FraudDecision>('fraud-decisions') },
  deadLetters: 'fraud-dead-letters',
  generate: generateTransactions,
  pipeline: ({ transactions }, { settings }) => {
    // Either way the model sees the ten features, and a failed call flags for review (score 1).
    const scoring = {
      features: (featured: FeaturedTransaction) => featured.features,
      output: (featured: FeaturedTransaction, prediction: Prediction) => ({ tx: featured.tx, prediction }),
      fallback: { score: 1 },
      timeoutMs: 2000,
      batch: { maxSize: settings.batch },
    };
    return transactions.pipe(
      userFeatures(),
      materializeFeatures(fraudFeatures, { redis: settings.redis ?? process.env.REDIS_URL, servedSample: settings.servedSample, writeIntervalMs: settings.featureWriteMs }),
      settings.serving === 'enricher'
        ? enrich.model({ ...scoring, url: settings.modelUrl, model: serviceModelName(settings.model) })
        : infer({ ...scoring, model: settings.model, shadow: settings.shadow || undefined, shadowThreshold: settings.threshold }),
      map(({ tx, prediction }) => decide(tx, prediction, settings.threshold, settings.serving), { stage: 'decision' }),
    );
  },
  countAs: { label: 'flagged', test: (decision) => decision.flagged },
});
