export { DynamicBatcher, systemTimer, type BatchedScores, type BatchTimer, type DynamicBatcherOptions, type ScoreMatrix } from './dynamicBatcher.ts';
export { InvalidInferenceRequestError, ServiceClosingError, UnknownModelError } from './errors.ts';
export { startModelService, type ModelService, type ModelServiceOptions } from './modelService.ts';
export { inferenceResponse, parseInferenceRequest, type InferenceResponseBody, type ParsedInferenceRequest } from './oipCodec.ts';
export { resolveModel, type ServedModel, type TensorMetadata } from './resolveModel.ts';
export { serveCommand, type ServeOptions, type ServeOutput } from './serveCommand.ts';
export { ServeMetrics, type ServeGauges } from './serveMetrics.ts';
