import { SluiceError } from '../errors.ts';

/** A checkpoint could not be written or read. Retriable: the disk may have room again later. */
export class CheckpointError extends SluiceError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, ...options });
  }
}

/**
 * A checkpoint did not complete within its timeout: records stayed in flight (a write, a model
 * call or an operator that never finished), or its store never answered. The job must fail:
 * restarting from the last checkpoint is the only way on.
 */
export class CheckpointTimeoutError extends SluiceError {
  /** `stalled` says what it waited for, e.g. "the records in flight to finish (still open: tx[0]: 3)". */
  constructor(timeoutMs: number, stalled: string) {
    super(`a checkpoint waited ${timeoutMs} ms for ${stalled}; the job stops so that a restart resumes from the last checkpoint (--checkpoint-timeout)`);
  }
}

/** A checkpoint file that is truncated, altered or not a checkpoint at all: it must not be restored. */
export class CorruptCheckpointError extends SluiceError {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`checkpoint ${path} is corrupt (${reason})`);
    this.path = path;
    this.reason = reason;
  }
}
