export { ModelServiceError, ModelServiceProtocolError, ModelServiceRequestError, ModelServiceTimeoutError, ModelServiceUnavailableError } from './errors.ts';
export { oipClient, type InferOptions, type OipClient, type OipClientOptions, type OipScores } from './oipClient.ts';
