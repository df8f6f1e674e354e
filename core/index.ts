export { systemClock, TestClock, type Clock } from './clock.ts';
export { CompletionTracker, type Ticket } from './completion.ts';
export { runJob, type EngineOptions, type JobStats, type RunningJob } from './engine.ts';
export {
  ConnectorError,
  describeError,
  InferenceTimeoutError,
  InvalidOptionError,
  JobDefinitionError,
  ModelError,
  requireNonNegativeNumber,
  requirePositiveInteger,
  SluiceError,
} from './errors.ts';
export { InFlightBudget, type BudgetListener } from './flowControl.ts';
export type { InferenceRequest, InferenceResult, InferenceService, ModelHandle } from './inference.ts';
export { Instrumentation, type InstrumentationEvent, type InstrumentationEvents } from './instrumentation.ts';
export { defineJob, isJobDefinition, numberSetting, type DeadLetter, type JobContext, type JobDefinition, type KafkaSettings, type RunEnvironment, type Sink, type Source, type SourceContext } from './job.ts';
export { LatencyHistogram, type LatencySummary } from './latency.ts';
export { withHeader, withKey, withValue, type Envelope, type SourcePosition, type SourceRecord, type TraceCarrier } from './record.ts';
export { MemoryStateBackend, restoreState, snapshotState, type StateBackend, type StateEntry, type StateSnapshot } from './state/backend.ts';
export {
  KeyedStateStore,
  mapState,
  valueState,
  type MapState,
  type MapStateDescriptor,
  type StateDescriptor,
  type ValueState,
  type ValueStateDescriptor,
} from './state/keyedState.ts';
export { captureCheckpoint, restoreCheckpoint, type CheckpointParts } from './checkpoint/capture.ts';
export type { Checkpoint, CheckpointInput, CheckpointStore, Snapshottable } from './checkpoint/checkpoint.ts';
export { decodeCheckpoint, encodeCheckpoint } from './checkpoint/checkpointFile.ts';
export { CheckpointError, CorruptCheckpointError } from './checkpoint/errors.ts';
export { checkpointName, FileCheckpointStore, type FileCheckpointStoreOptions } from './checkpoint/fileCheckpointStore.ts';
export { BoundedOutOfOrderness } from './time/boundedOutOfOrderness.ts';
export { InvalidTimestampError } from './time/errors.ts';
export { Idleness } from './time/idleness.ts';
export { schedulerClock } from './time/schedulerClock.ts';
export { extractTimestamp, recordTimestamp, type TimestampExtractor } from './time/timestampExtractor.ts';
export { WatermarkTracker, type WatermarkOptions, type WatermarkSnapshot } from './time/watermarkTracker.ts';
