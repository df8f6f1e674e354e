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
  for (const [name, value] of Object.entries(row.values)) fields[name] = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  fields[EVENT_TIME_FIELD] = String(row.eventTime);
  fields[WRITTEN_AT_FIELD] = String(writtenAt);
  return fields;
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
