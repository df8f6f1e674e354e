import { SluiceError } from '../errors.ts';

/** A checkpoint could not be written or read. Retriable: the disk may have room again later. */
export class CheckpointError extends SluiceError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retriable: true, ...options });
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
