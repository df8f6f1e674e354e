export {
  eventWindow,
  latest,
  mostFrequent,
  recentDistinct,
  runningMean,
  timeSince,
  topCounts,
  windowAvg,
  windowCount,
  windowSum,
  type Aggregation,
  type LatestState,
  type MeanState,
  type RecentDistinctState,
  type TopCountsState,
  type WindowState,
} from './aggregations.ts';
export { computeRows, streamingUpdater } from './computeRows.ts';
export { offlineStore, type LabelRow, type OfflineStore, type TrainingRow } from './offlineStore.ts';
export { durationMs, type Duration } from './duration.ts';
export { FeatureStoreError } from './errors.ts';
export {
  coerceFeature,
  featureView,
  type FeatureContext,
  type FeatureInfo,
  type FeatureRow,
  type FeatureSpec,
  type FeatureType,
  type FeatureValue,
  type FeatureView,
  type FeatureViewDefinition,
  type FeatureViewInfo,
  type StatesOf,
  type ViewState,
} from './featureView.ts';
export { featuresBackfillJob, featuresCheckJob, featuresTrainingSetJob, type JobFeaturesOptions } from './jobCommands.ts';
export { ServedLog, servedLogPath } from './servedLog.ts';
export { findView, registerView, viewNames } from './registry.ts';
export { formatSkewReport, skewCheck, type FeatureSkew, type SkewCheckOptions, type SkewReport } from './skewCheck.ts';
export { featuresBackfill, featuresCheck, featuresTrainingSet, readJsonl, type CommandIo, type RowSink } from './commands.ts';
