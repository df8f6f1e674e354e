/**
 * Fraud detection with model monitoring: the fraud job's scoring, plus drift of every feature and
 * of the score against the model's reference, and online precision/recall/AUC once the labels
 * (chargebacks, confirmations) arrive hours later on a second input, joined to the decisions by
 * transaction id within 48 h. Metrics: sluice_feature_drift_psi, sluice_online_auc, ... (see
 * docs/monitoring.md); each window also prints one line.
 *
 *   sluice run jobs/fraud-monitoring.ts --set count=300000 --set rate=20000
 *   sluice run jobs/fraud-monitoring.ts --brokers localhost:9092   # transactions + fraud-labels → fraud-decisions + fraud-labelled-decisions
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { defineJob, input, output, setting } from 'sluice';
import { driftMonitor, infer, intervalJoin, map, onlineAccuracy } from 'sluice/operators';
import { tee } from '../operators/monitoring/tee.ts';
import { decide, FRAUD_THRESHOLD, type FraudDecision } from './fraud/decision.ts';
import { parseTransaction, TransactionGenerator } from './fraud/transactions.ts';
import { userFeatures } from './fraud/userFeatures.ts';
import { LabelGenerator, labelCount, labelSchema, type FraudLabel } from './monitoring/labels.ts';
import { printAccuracy, printDrift } from './monitoring/report.ts';
import { driftReference, WARMUP_MS } from './monitoring/warmReference.ts';

const HOUR = 3600_000;

/** A decision with the label that arrived for it. */
export interface LabelledDecision {
  transactionId: string;
  userId: string;
  score: number;
  flagged: boolean;
  fallback: boolean;
  modelVersion: string;
  isFraud: boolean;
  /** Hours from the transaction to its label. */
  labelDelayHours: number;
}

export default defineJob({
  name: 'fraud-monitoring',
  description: 'scores transactions, watches feature and score drift, and measures online accuracy from late labels',
  settings: {
    model: setting.string(fileURLToPath(new URL('../models/fraud@1', import.meta.url)), 'the model registry version (models/fraud@N): its model file and its manifest reference'),
    reference: setting.choice(['warm', 'manifest'], 'warm', "drift reference: the training rows after the generator's first 24 h (warm), or the manifest's as trained"),
    threshold: setting.number(FRAUD_THRESHOLD, 'score at or above which a transaction is flagged', { min: 0, max: 1 }),
    batch: setting.integer(512, 'most transactions per model call', { min: 1 }),
    driftWindowMs: setting.integer(10_000, 'drift window (processing time, ms)', { min: 1 }),
    accuracyWindowMs: setting.integer(10_000, 'online-accuracy window (processing time, ms)', { min: 1 }),
    psi: setting.number(0.2, 'PSI above which a column is reported drifted', { min: 0 }),
    labelHours: setting.number(48, 'a label joins its decision if it arrives within this many hours (event time)', { min: 0 }),
    count: setting.integer(300_000, 'transactions the generator makes', { min: 0 }),
    rate: setting.number(20_000, 'generated transactions per second (labels follow at labelShare of it; 0: as fast as possible)', { min: 0 }),
    users: setting.integer(5000, 'card holders in the generated stream', { min: 1 }),
    fraudRatio: setting.number(0.015, 'share of generated transactions that are fraud', { min: 0, max: 0.5 }),
    labelShare: setting.number(0.5, 'share of generated transactions that ever get a label', { min: 0.001, max: 1 }),
    seed: setting.integer(42, 'seed of the generated stream'),
  },
  inputs: {
    transactions: input('transactions', { parse: parseTransaction }, { key: (tx) => tx.userId, time: (tx) => tx.timestamp }),
    // Keyed by user like the transactions, so on Kafka a label's partition is its transaction's.
    labels: input('fraud-labels', labelSchema, { key: (label) => label.userId, time: (label) => label.timestamp }),
  },
  outputs: {
    decisions: output<FraudDecision>('fraud-decisions'),
    labelled: output<LabelledDecision>('fraud-labelled-decisions'),
  },
  deadLetters: 'fraud-dead-letters',
  generate: (settings) => {
    const transactions = new TransactionGenerator({ seed: settings.seed, users: settings.users, fraudRatio: settings.fraudRatio });
    const labelOptions = { seed: settings.seed, users: settings.users, fraudRatio: settings.fraudRatio, labelShare: settings.labelShare, minDelayMs: 2 * HOUR, maxDelayMs: 40 * HOUR };
    const labels = new LabelGenerator(labelOptions);
    const rate = settings.rate > 0 ? settings.rate : undefined;
    return {
      transactions: { count: settings.count, make: () => transactions.next(), ratePerSecond: rate },
      labels: { count: labelCount(settings.count, labelOptions), make: () => labels.next(), ratePerSecond: rate === undefined ? undefined : Math.max(1, Math.round(rate * settings.labelShare)) },
    };
  },
  pipeline: ({ transactions, labels }, { settings }) => {
    const model = driftReference(settings.model, settings.reference);
    const registry = settings.model.replace(/@\d+$/, '');
    const scored = transactions.pipe(
      userFeatures(),
      infer({
        model: join(registry, String(model.manifest.version), model.manifest.model.file),
        features: (featured) => featured.features,
        output: (featured, prediction) => ({ tx: featured.tx, features: featured.features, prediction }),
        fallback: { score: 1 },
        timeoutMs: 2000,
        batch: { maxSize: settings.batch },
      }),
      driftMonitor({
        reference: model.manifest,
        windowMs: settings.driftWindowMs,
        features: (s) => s.features,
        // A fallback score is the safe default, not the model's opinion: counted apart, not binned.
        score: (s) => (s.prediction.fallback ? Number.NaN : s.prediction.score),
        // Features from empty user histories are not a running stream's: skip each partition's first day.
        warmupMs: WARMUP_MS,
        thresholds: { psi: settings.psi },
        onWindow: printDrift,
      }),
      map(({ tx, prediction }) => decide(tx, prediction, settings.threshold), { stage: 'decision' }),
    );
    const [decisions, toJoin] = tee(scored);
    const labelled = toJoin.pipe(
      intervalJoin(labels, {
        lowerMs: 0,
        upperMs: settings.labelHours * HOUR,
        key: { left: (d: FraudDecision) => d.transactionId, right: (l: FraudLabel) => l.transactionId },
        time: { left: (d) => d.timestamp, right: (l) => l.timestamp },
        join: (d, l): LabelledDecision => ({
          transactionId: d.transactionId,
          userId: d.userId,
          score: d.score,
          flagged: d.flagged,
          fallback: d.fallback,
          modelVersion: d.modelVersion,
          isFraud: l.isFraud,
          labelDelayHours: (l.timestamp - d.timestamp) / HOUR,
        }),
        // When one input stops (the labels end first), the other still expires the state.
        idleTimeoutMs: 10_000,
      }),
      onlineAccuracy({
        model: model.id,
        threshold: settings.threshold,
        windowMs: settings.accuracyWindowMs,
        score: (p) => (p.fallback ? Number.NaN : p.score),
        label: (p) => p.isFraud,
        onWindow: printAccuracy,
      }),
    );
    return { decisions, labelled };
  },
  // The summary counts flagged decisions, not their labelled copies on the second output.
  countAs: { label: 'flagged', test: (value) => !('labelDelayHours' in value) && value.flagged },
});
