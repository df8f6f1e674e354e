import { SluiceError } from '../../core/errors.ts';

/**
 * A request the model service refuses: the caller must change it, so it is never retriable.
 * `status` is the HTTP status it is answered with (the Open Inference Protocol says "typically 400").
 */
export class InvalidInferenceRequestError extends SluiceError {
  readonly status: number;

  constructor(message: string, status = 400) {
    super(message, { retriable: false });
    this.status = status;
  }
}

/** A model name or version the service does not serve (HTTP 404). */
export class UnknownModelError extends InvalidInferenceRequestError {
  constructor(message: string) {
    super(message, 404);
  }
}

/** The service is closing and takes no new work (HTTP 503, retriable elsewhere or later). */
export class ServiceClosingError extends SluiceError {
  constructor() {
    super('the model service is shutting down — retry against another instance or after it restarts', { retriable: true });
  }
}
