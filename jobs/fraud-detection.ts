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
import { enrich, infer, map, materializeFeatures } from 'sluice/operators';
import { fraudFeatures } from './fraud/featureView.ts';
import { decide, FRAUD_THRESHOLD, type FraudDecision } from './fraud/decision.ts';
import { parseTransaction, TransactionGenerator } from './fraud/transactions.ts';
import { userFeatures } from './fraud/userFeatures.ts';

export default defineJob({
  name: 'fraud-detection',
  description: 'scores every card transaction with the fraud model and flags the risky ones',
  settings: {
    threshold: setting.number(FRAUD_THRESHOLD, 'score at or above which a transaction is flagged', { min: 0, max: 1 }),
    model: setting.string(fileURLToPath(new URL('../models/fraud', import.meta.url)), 'the model: a registry (newest valid version, swapped while running), registry@N (pinned), or an .onnx file'),
    shadow: setting.string('', 'a candidate model scored beside the serving one, never changing decisions (e.g. models/fraud@next); agreement goes to metrics'),
    batch: setting.integer(512, 'most transactions per model call (1 scores one at a time)', { min: 1 }),
    count: setting.integer(500_000, 'transactions the generator makes', { min: 0 }),
    rate: setting.number(0, 'generated transactions per second (0: as fast as the job takes them)', { min: 0 }),
    users: setting.integer(5000, 'card holders in the generated stream', { min: 1 }),
    fraudRatio: setting.number(0.015, 'share of generated transactions that are fraud', { min: 0, max: 0.5 }),
    seed: setting.integer(42, 'seed of the generated stream'),
    serving: setting.choice(['embedded', 'enricher'], 'embedded', 'where the model runs: in the job (embedded) or behind the model service at modelUrl (enricher)'),
    modelUrl: setting.string('http://127.0.0.1:8500', 'the Open Inference Protocol service for serving=enricher (sluice serve, Triton, KServe); it serves the model named like the model setting'),
    redis: setting.optionalString('online store URL, e.g. redis://127.0.0.1:6379 (or REDIS_URL)'),
    servedSample: setting.number(0, 'share of feature rows logged to .sluice/<job>/served-features.jsonl for sluice features check', { min: 0, max: 1 }),
  },
  inputs: { transactions: input('transactions', { parse: parseTransaction }, { key: (tx) => tx.userId, time: (tx) => tx.timestamp }) },
  outputs: { decisions: output<FraudDecision>('fraud-decisions') },
  deadLetters: 'fraud-dead-letters',
  generate: (settings) => {
    const generator = new TransactionGenerator({ seed: settings.seed, users: settings.users, fraudRatio: settings.fraudRatio });
    return { transactions: { count: settings.count, make: () => generator.next(), ratePerSecond: settings.rate > 0 ? settings.rate : undefined } };
  },
  pipeline: ({ transactions }, { settings }) =>
    transactions.pipe(
      userFeatures(),
      materializeFeatures(fraudFeatures, { redis: settings.redis ?? process.env.REDIS_URL, servedSample: settings.servedSample }),
      settings.serving === 'enricher'
        ? enrich.model({
            url: settings.modelUrl,
            model: serviceModelName(settings.model),
            features: (featured) => featured.features,
            output: (featured, prediction) => ({ tx: featured.tx, prediction }),
            fallback: { score: 1 },
            timeoutMs: 2000,
            batch: { maxSize: settings.batch },
          })
        : infer({
            model: settings.model,
            shadow: settings.shadow === '' ? undefined : settings.shadow,
            shadowThreshold: settings.threshold,
            features: (featured) => featured.features,
            output: (featured, prediction) => ({ tx: featured.tx, prediction }),
            // The tutorial's safe default: when the model cannot answer, flag for review.
            fallback: { score: 1 },
            timeoutMs: 2000,
            batch: { maxSize: settings.batch },
          }),
      map(({ tx, prediction }) => decide(tx, prediction, settings.threshold, settings.serving), { stage: 'decision' }),
    ),
  countAs: { label: 'flagged', test: (decision) => decision.flagged },
});

/** The name `sluice serve` gives the model setting's model: `models/fraud` and `models/fraud@1` are `fraud`, `fraud-v1.onnx` is `fraud-v1`. */
function serviceModelName(model: string): string {
  return model.replace(/[\\/]+$/, '').replace(/^.*[\\/]/, '').replace(/@[^@]*$/, '').replace(/\.onnx$/, '');
}
