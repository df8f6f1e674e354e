import { SluiceError } from '../errors.ts';

/** A reference histogram that cannot be compared against: edges out of order, proportions not a distribution. */
export class InvalidHistogramError extends SluiceError {}
