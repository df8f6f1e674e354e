// `sluice`: what a job author writes a job with. Engine internals are imported by path from
// core/engine/ and friends by the runtime, never through this barrel.
export { defineJob, isJob, type InputStreams, type Job, type JobSpec, type PipelineContext, type PipelineResult } from './defineJob.ts';
export { describeSettings, resolveSettings, setting, type Setting, type SettingsSpec, type SettingValues } from './settings.ts';
export { input, output, type Generator, type InputSpec, type OutputSpec, type Schema, type Stream } from './streams.ts';
export { mapState, valueState, type MapState, type MapStateDescriptor, type StateDescriptor, type ValueState, type ValueStateDescriptor } from './state/keyedState.ts';
export type { Envelope, SourcePosition, TraceCarrier } from './record.ts';
export type { DeadLetter } from './job.ts';
export { SluiceError, StageError, JobDefinitionError, InvalidOptionError, ModelError, ConnectorError } from './errors.ts';
export { systemClock, TestClock, type Clock } from './clock.ts';
