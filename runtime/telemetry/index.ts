export { BucketHistogram, HistogramCell } from './bucketHistogram.ts';
export { BusyMeter } from './busyMeter.ts';
export { JobMetrics, type PoolGauges } from './jobMetrics.ts';
export { DEFAULT_METRICS_HOST, startMetricsServer, type MetricsServer } from './metricsServer.ts';
export { RecordTracing } from './recordTracing.ts';
export { DEFAULT_SAMPLE_RATIO, parentSampled, recordSampler, samplesNothing, samplingPolicy, type SamplingPolicy } from './sampling.ts';
export { startTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.ts';
export type { TracerSdk } from './tracerSdk.ts';
export type { SpanCounts, SpanDropReason } from './spanQueue.ts';
