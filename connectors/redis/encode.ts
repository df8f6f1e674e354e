/**
 * How feature rows sit in Redis: one hash per entity, key `<view>:<entity>`, one field per feature
 * plus `__t` (event time of the values) and `__w` (when the store wrote them, ms). Numbers are
 * written with `String(n)`, the shortest text that reads back as the same double, so a value goes
 * through Redis bit for bit.
 */
import { coerceFeature, type FeatureInfo, type FeatureRow, type FeatureValue } from '../../core/features/index.ts';

export const EVENT_TIME_FIELD = '__t';
export const WRITTEN_AT_FIELD = '__w';

/**
 * The Redis key of an entity in a view.
 *
 * @example
 * entityKey('fraud_user', 'u0042'); // 'fraud_user:u0042'
 */
export function entityKey(view: string, entity: string): string {
  return `${view}:${entity}`;
}

/**
 * The hash fields of a row.
 *
 * @example
 * encodeRow(row, 1700000000500); // { amount_log: '-0.25', __t: '1700000000000', __w: '1700000000500' }
 */
export function encodeRow(row: FeatureRow, writtenAt: number): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(row.values)) fields[name] = fieldText(value);
  fields[EVENT_TIME_FIELD] = String(row.eventTime);
  fields[WRITTEN_AT_FIELD] = String(writtenAt);
  return fields;
}

// Shortest round-trip text of a double is the costliest step of a write (about a third of the
// client's CPU per row); feature values repeat a lot (flags, counts, category risks, defaults).
const texts = new Map<number, string>();
const MAX_TEXTS = 4096;

/**
 * A value as stored: numbers as `String(n)` (reads back as the same double), booleans as 1/0.
 *
 * @example
 * fieldText(Math.fround(0.1)); // '0.10000000149011612'
 */
export function fieldText(value: FeatureValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? '1' : '0';
  let text = texts.get(value);
  if (text === undefined) {
    text = String(value);
    // Continuous values would fill it with one-offs: start over rather than track recency.
    if (texts.size >= MAX_TEXTS) texts.clear();
    texts.set(value, text);
  }
  return text;
}

/**
 * A stored field back as its feature's type; `undefined` when the field is absent.
 *
 * @example
 * decodeValue({ name: 'n', type: 'int', ttlMs: 1, default: 0 }, '3'); // 3
 */
export function decodeValue(feature: FeatureInfo, text: string | null | undefined): FeatureValue | undefined {
  if (text === null || text === undefined) return undefined;
  if (feature.type === 'string') return text;
  if (feature.type === 'bool') return text === '1';
  return coerceFeature(feature.type, Number(text));
}
