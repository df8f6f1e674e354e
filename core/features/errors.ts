import { SluiceError } from '../errors.ts';

/**
 * A feature view, row or store call that cannot work as given (a bad duration, an unknown view,
 * an online store that cannot be reached). `retriable` is true when trying later may succeed.
 */
export class FeatureStoreError extends SluiceError {}
