import { InvalidOptionError } from './errors.ts';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds of a duration written for people: `250ms`, `5s`, `10m`, `1h`, `7d`, or a sum
 * such as `1h30m`.
 *
 * @example
 * parseDuration('1h30m') // 5_400_000
 */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d)/g)];
  const consumed = parts.map((p) => p[0]).join('');
  if (parts.length === 0 || consumed.replace(/\s/g, '') !== text.replace(/\s/g, '')) {
    throw new InvalidOptionError(`"${text}" is not a duration: write e.g. 250ms, 5s, 10m, 1h, 7d or 1h30m`);
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * UNITS[unit!]!, 0);
}
