/**
 * One feature definition, run both streaming (keyed state) and offline (backfill), so training
 * and serving cannot disagree. A view names an entity key, the state kept per entity (built from
 * the aggregations in `aggregations.ts`) and features computed from the event and that state.
 */
import type { Aggregation } from './aggregations.ts';
import { compileView } from './compileView.ts';
import { durationMs, type Duration } from './duration.ts';
import { FeatureStoreError } from './errors.ts';
import { registerView } from './registry.ts';

/** How a feature value is stored and compared. `float32` values are rounded with `Math.fround`. */
export type FeatureType = 'float64' | 'float32' | 'int' | 'bool' | 'string';

/** A feature value; the type of the feature says which. */
export type FeatureValue = number | boolean | string;

/** What a feature's `value` function sees: the event, its event time, the entity's state. */
export interface FeatureContext<E, S> {
  event: E;
  time: number;
  /** The entity's state with every EARLIER event added, not this one. */
  state: S;
  /** Events of this entity seen before this one. */
  count: number;
}

/** The declaration of one feature. */
export interface FeatureSpec<E, S> {
  type: FeatureType;
  /** How long a value stays valid after its event time; older values are served as `default`. */
  ttl: Duration;
  /** Served when the value is missing or older than `ttl`. */
  default: FeatureValue;
  value(ctx: FeatureContext<E, S>): FeatureValue;
}

/** A feature as stores see it: no code, just how to read, store and age it. */
export interface FeatureInfo {
  readonly name: string;
  readonly type: FeatureType;
  readonly ttlMs: number;
  readonly default: FeatureValue;
}

/** What stores need to know about a view: its name, entity kind and features. */
export interface FeatureViewInfo {
  readonly name: string;
  /** The entity kind, e.g. `user`; label files name their key column after it. */
  readonly entity: string;
  readonly features: readonly FeatureInfo[];
}

/** The feature values of one entity at one event time. Plain JSON. */
export interface FeatureRow {
  view: string;
  entity: string;
  eventTime: number;
  values: Record<string, FeatureValue>;
}

/** The keyed state of one entity: plain JSON-cloneable data (checkpoint it as is). */
export interface ViewState<S> {
  count: number;
  parts: S;
}

/** The states of a record of aggregations. */
export type StatesOf<A> = { [K in keyof A]: A[K] extends Aggregation<never, infer S> ? S : never };

/** A compiled feature view: the streaming updater, plus what stores need. */
export interface FeatureView<E, S = unknown> extends FeatureViewInfo {
  readonly featureNames: readonly string[];
  entityKey(event: E): string;
  eventTime(event: E): number;
  /** The state of an entity with no events. */
  initial(): ViewState<S>;
  /**
   * The row of `event` (features computed from the state BEFORE it), then the state with the
   * event added. Mutates `state` in place and returns it (keyed state can store it back as is).
   */
  update(state: ViewState<S>, event: E): { state: ViewState<S>; row: FeatureRow };
  /** The row of `event` from `state` (the entity's past) without adding the event: `state` is not touched. */
  rowOf(state: ViewState<S>, event: E): FeatureRow;
}

/** The declaration passed to {@link featureView}. */
export interface FeatureViewDefinition<E, A extends Record<string, Aggregation<E, unknown>>> {
  name: string;
  entity: { name: string; key: (event: E) => string };
  eventTime: (event: E) => number;
  state: A;
  /** Features in order (object key order is the vector order). */
  features: Record<string, FeatureSpec<E, StatesOf<A>>>;
}

const CHECK: Record<FeatureType, (v: FeatureValue) => boolean> = {
  float64: (v) => typeof v === 'number',
  float32: (v) => typeof v === 'number',
  int: (v) => typeof v === 'number' && Number.isInteger(v),
  bool: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
};

/** How each feature type stores a value. */
const COERCE: Record<FeatureType, (value: FeatureValue) => FeatureValue> = {
  float32: (value) => Math.fround(Number(value)),
  float64: (value) => Number(value),
  int: (value) => Math.trunc(Number(value)),
  bool: (value) => value === true || value === 1 || value === '1' || value === 'true',
  string: (value) => String(value),
};

/**
 * A value as its feature type stores it, so streaming, offline and Redis hold the same bits.
 *
 * @example
 * coerceFeature('float32', 0.1); // 0.10000000149011612
 */
export function coerceFeature(type: FeatureType, value: FeatureValue): FeatureValue {
  return COERCE[type](value);
}

/**
 * Declares and compiles a feature view.
 *
 * @example
 * const userTx = featureView({
 *   name: 'user_tx',
 *   entity: { name: 'user', key: (tx: Tx) => tx.userId },
 *   eventTime: (tx) => tx.timestamp,
 *   state: { recent: eventWindow<Tx>({ retain: '24h', value: (tx) => tx.amount }) },
 *   features: {
 *     tx_count_1h: { type: 'int', ttl: '1h', default: 0, value: ({ state, time }) => windowCount(state.recent, time, '1h') },
 *   },
 * });
 * let s = userTx.initial();
 * const { row } = userTx.update(s, tx); // row.values.tx_count_1h
 */
export function featureView<E, A extends Record<string, Aggregation<E, unknown>>>(
  definition: FeatureViewDefinition<E, A>,
): FeatureView<E, StatesOf<A>> {
  const { name, entity, eventTime, state } = definition;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new FeatureStoreError(`feature view name must use letters, digits, _ . - only (got ${JSON.stringify(name)})`);
  if (!/^[A-Za-z0-9_]+$/.test(entity.name)) throw new FeatureStoreError(`entity name must use letters, digits and _ only (got ${JSON.stringify(entity.name)})`);
  const specs = Object.entries(definition.features);
  if (specs.length === 0) throw new FeatureStoreError(`feature view ${name} needs at least one feature`);
  const features: FeatureInfo[] = specs.map(([featureName, spec]) => {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(featureName)) {
      throw new FeatureStoreError(`feature name must start with a letter and use letters, digits, _ only (got ${JSON.stringify(featureName)} in view ${name})`);
    }
    if (!CHECK[spec.type](spec.default)) throw new FeatureStoreError(`default of ${name}.${featureName} must be a ${spec.type} (got ${JSON.stringify(spec.default)})`);
    return Object.freeze({ name: featureName, type: spec.type, ttlMs: durationMs(spec.ttl, `ttl of ${name}.${featureName}`), default: coerceFeature(spec.type, spec.default) });
  });
  const partNames = Object.keys(state) as (keyof A & string)[];
  const { rowOf, update } = compileView<E, StatesOf<A>>({
    view: name,
    entityKey: entity.key,
    eventTime,
    features: specs.map(([featureName, spec]) => ({ name: featureName, value: spec.value, coerce: COERCE[spec.type] })),
    parts: partNames.map((part) => ({ name: part, aggregation: state[part]! })),
  });

  const view: FeatureView<E, StatesOf<A>> = Object.freeze({
    name,
    entity: entity.name,
    features: Object.freeze(features),
    featureNames: Object.freeze(features.map((f) => f.name)),
    entityKey: entity.key,
    eventTime,
    initial(): ViewState<StatesOf<A>> {
      const parts = {} as Record<string, unknown>;
      for (const part of partNames) parts[part] = state[part]!.init();
      return { count: 0, parts: parts as StatesOf<A> };
    },
    rowOf,
    update,
  });
  registerView(view);
  return view;
}
