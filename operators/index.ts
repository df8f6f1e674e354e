export { decodeJson } from './decodeJson.ts';
export { deadLetterWhen } from './deadLetterWhen.ts';
export { filterValue } from './filterValue.ts';
export { infer, type InferOptions, type Prediction } from './infer.ts';
export { keyBy } from './keyBy.ts';
export { mapValue } from './mapValue.ts';
export { microBatch, type Batch, type MicroBatchOptions } from './microBatch.ts';
export { tryMap } from './tryMap.ts';
export { withState, stateScope, type StateHandle } from './withState.ts';
