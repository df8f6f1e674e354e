import { ConnectorError } from '../../core/errors.ts';

/** Every error of the model-service client; `status` is the HTTP status when there was an answer. */
export class ModelServiceError extends ConnectorError {
  readonly status: number | undefined;

  constructor(message: string, options: { retriable: boolean; status?: number; cause?: unknown }) {
    super(message, { retriable: options.retriable, cause: options.cause });
    this.status = options.status;
  }
}

/** The service refused the request (4xx): sending it again will not help. */
export class ModelServiceRequestError extends ModelServiceError {
  constructor(message: string, status: number) {
    // 408 and 429 are the two 4xx answers that mean "later", not "never".
    super(message, { retriable: status === 408 || status === 429, status });
  }
}

/** The service failed (5xx) or could not be reached (refused, reset): worth retrying. */
export class ModelServiceUnavailableError extends ModelServiceError {
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { retriable: true, ...options });
  }
}

/** No answer within the client's timeout: worth retrying. */
export class ModelServiceTimeoutError extends ModelServiceError {
  constructor(url: string, timeoutMs: number, cause?: unknown) {
    super(`model service ${url} did not answer within ${timeoutMs} ms — raise timeoutMs or check the service's load`, { retriable: true, cause });
  }
}

/** An answer that is not what the Open Inference Protocol says (or not what this client can read). */
export class ModelServiceProtocolError extends ModelServiceError {
  constructor(message: string, status?: number) {
    super(message, { retriable: false, ...(status === undefined ? {} : { status }) });
  }
}
