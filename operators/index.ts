// The operators a job's pipeline is made of: each is `name(fn or options, { stage?, onError? })`.
export { deadLetterWhen } from './deadLetterWhen.ts';
export { decodeJson } from './decodeJson.ts';
export { filter } from './filter.ts';
export { infer, type InferOptions, type Prediction } from './infer.ts';
export { type StageOptions } from './internal/operate.ts';
export { keyBy } from './keyBy.ts';
export { map } from './map.ts';
export { microBatch, type Batch, type MicroBatchOptions } from './microBatch.ts';
export { withState, type StateHandle } from './withState.ts';
export { reducing, type AggregateFunction } from './windows/aggregateFunction.ts';
export { routeLate } from './windows/routeLate.ts';
export { split } from './split.ts';
export { EventTimeSessionWindows } from './windows/sessionWindows.ts';
export { SlidingEventTimeWindows } from './windows/slidingWindows.ts';
export { TumblingEventTimeWindows } from './windows/tumblingWindows.ts';
export { windowAggregate, type WindowAggregateOptions } from './windows/windowAggregate.ts';
export { type WindowAssigner } from './windows/windowAssigner.ts';
export { isLateRecord, isWindowResult, type LateRecord, type WindowOutput, type WindowResult } from './windows/windowOutput.ts';
