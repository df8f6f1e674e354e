/**
 * How feature rows sit in Redis: one string per entity, key `<view>:<entity>`, holding the row
 * packed as JSON: `{"t":<event time>,"w":<written at, ms>,"v":{"<feature>":<value>,...}}`.
 *
 * Why one packed value and not a hash field per feature: a write is then one `SET` (one `MSET`
 * per chunk of rows) instead of an `HSET` of 24 arguments per row, which cost the client ~20 µs
 * of CPU per row (a Command, `String(n)` of every value, RESP framing of every argument) and
 * `redis-server` a hash update per field, on the same two cores as the job. A read is one `MGET`.
 * The value names its features, so a view that gains a feature reads it as missing (default)
 * from rows written before, as the hash did.
 *
 * Numbers are written as JSON numbers, the shortest text that reads back as the same double (as
 * `String(n)`), so a value goes through Redis bit for bit; the ones JSON cannot hold (NaN, ±∞,
 * -0) are written as their text (`"NaN"`, `"-0"`) and read back with `Number()`.
 */
import type { Redis } from 'ioredis';
import { coerceFeature, type FeatureInfo, type FeatureRow, type FeatureValue, type FeatureViewInfo } from '../../core/features/index.ts';

/** The names the stored value uses for event time and write time (`t`, `w`), as the docs call them. */
export const EVENT_TIME_FIELD = 't';
export const WRITTEN_AT_FIELD = 'w';

/** A row as read back from Redis: its times and its values as stored (decode each with {@link decodeValue}). */
export interface StoredRow {
  eventTime: number;
  writtenAt: number;
  values: Readonly<Record<string, unknown>>;
}

/**
 * The Redis key of an entity in a view.
 *
 * @example
 * entityKey('fraud_user', 'u0042'); // 'fraud_user:u0042'
 */
export function entityKey(view: string, entity: string): string {
  return `${view}:${entity}`;
}

/** A number JSON cannot hold as a number (it would write null, or 0 for -0). */
function needsText(value: number): boolean {
  return !Number.isFinite(value) || (value === 0 && 1 / value < 0);
}

function numberAsText(_key: string, value: unknown): unknown {
  return typeof value === 'number' && needsText(value) ? (Object.is(value, -0) ? '-0' : String(value)) : value;
}

/**
 * The stored value of a row: its values as JSON with event time and write time.
 *
 * @example
 * encodeRow(row, 1700000000500); // '{"t":1700000000000,"w":1700000000500,"v":{"amount_log":-0.25}}'
 */
export function encodeRow(row: FeatureRow, writtenAt: number): string {
  const values = row.values;
  let plain = true;
  for (const name in values) {
    const value = values[name];
    if (typeof value === 'number' && needsText(value)) {
      plain = false;
      break;
    }
  }
  // The common case without a replacer: JSON.stringify calls one per value otherwise.
  const json = plain ? JSON.stringify(values) : JSON.stringify(values, numberAsText);
  return `{"t":${row.eventTime},"w":${writtenAt},"v":${json}}`;
}

/**
 * A stored value back as its times and values; `undefined` when absent or not a row this store wrote.
 *
 * @example
 * decodeRow('{"t":5,"w":9,"v":{"n":3}}'); // { eventTime: 5, writtenAt: 9, values: { n: 3 } }
 */
export function decodeRow(text: string | null | undefined): StoredRow | undefined {
  if (text === null || text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { t, w, v } = parsed as { t?: unknown; w?: unknown; v?: unknown };
  if (typeof t !== 'number' || typeof v !== 'object' || v === null) return undefined;
  return { eventTime: t, writtenAt: typeof w === 'number' ? w : Number.NaN, values: v as Record<string, unknown> };
}

/**
 * A stored value back as its feature's type; `undefined` when absent.
 *
 * @example
 * decodeValue({ name: 'n', type: 'int', ttlMs: 1, default: 0 }, 3); // 3
 */
export function decodeValue(feature: FeatureInfo, stored: unknown): FeatureValue | undefined {
  if (stored === null || stored === undefined) return undefined;
  if (feature.type === 'string') return typeof stored === 'string' ? stored : String(stored);
  if (feature.type === 'bool') return stored === true || stored === 1 || stored === '1';
  return coerceFeature(feature.type, typeof stored === 'number' ? stored : Number(stored));
}

/**
 * What Redis holds for an entity of a view, decoded as the view's types, without cache or
 * statuses (tests, debugging); undefined when absent. A value it cannot decode is left out.
 *
 * @example
 * const row = await storedRow(client, fraudFeatures, 'u0042'); // { view, entity, eventTime, values }
 */
export async function storedRow(client: Pick<Redis, 'get'>, view: FeatureViewInfo, entity: string): Promise<FeatureRow | undefined> {
  const stored = decodeRow(await client.get(entityKey(view.name, entity)));
  if (stored === undefined) return undefined;
  const values: Record<string, FeatureValue> = {};
  for (const feature of view.features) {
    const value = decodeValue(feature, stored.values[feature.name]);
    if (value !== undefined) values[feature.name] = value;
  }
  return { view: view.name, entity, eventTime: stored.eventTime, values };
}
