import { parseDuration } from '../duration.ts';
import { FeatureStoreError } from './errors.ts';

/** A duration as milliseconds or text: `'500ms'`, `'30s'`, `'61m'`, `'1h'`, `'7d'`. */
export type Duration = number | string;

const parsed = new Map<string, number>();

/**
 * Milliseconds of a {@link Duration}; throws a one-line {@link FeatureStoreError} on bad input.
 *
 * @example
 * durationMs('1h');  // 3600000
 * durationMs(1500);  // 1500
 */
export function durationMs(duration: Duration, what = 'duration'): number {
  if (typeof duration === 'number') {
    if (Number.isFinite(duration) && duration >= 0) return duration;
  } else {
    // Features ask for their windows on every event: parse each text once.
    const known = parsed.get(duration);
    if (known !== undefined) return known;
    // One parser of duration texts for the whole project (core/duration.ts).
    try {
      const ms = parseDuration(duration);
      parsed.set(duration, ms);
      return ms;
    } catch {
      // Falls through to this module's own message.
    }
  }
  throw new FeatureStoreError(`${what} must be a non-negative number of ms or text like '30s', '61m', '1h', '7d' (got ${JSON.stringify(duration)})`);
}
