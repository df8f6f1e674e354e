import { SluiceError } from '../errors.ts';

/** A record whose event time is not a finite number of milliseconds. */
export class InvalidTimestampError extends SluiceError {
  readonly timestamp: unknown;

  constructor(timestamp: unknown) {
    super(`event time must be a finite number of ms since the epoch (got ${String(timestamp)}): fix the timestamp extractor or the source's \`timestamp\` option`);
    this.timestamp = timestamp;
  }
}
