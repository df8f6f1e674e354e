import assert from 'node:assert/strict';
import { test } from 'node:test';
import { featureView, type Aggregation } from '../../../core/features/index.ts';

interface Tick {
  id: string;
  t: number;
}

/** An aggregation that counts, and logs when it is given an event. */
function counting(label: string, log: string[]): Aggregation<Tick, { n: number }> {
  return {
    init: () => ({ n: 0 }),
    add(state) {
      log.push(`add ${label}`);
      state.n++;
      return state;
    },
  };
}

test('a view computes its features in order from the state before the event, then gives the event to each piece of state in order', () => {
  const log: string[] = [];
  const view = featureView({
    name: 'ticks',
    entity: { name: 'thing', key: (tick: Tick) => tick.id },
    eventTime: (tick) => tick.t,
    state: { first: counting('first', log), second: counting('second', log) },
    features: {
      seen: { type: 'int', ttl: '1h', default: 0, value: ({ state }) => (log.push('seen'), state.first.n) },
      half: { type: 'float32', ttl: '1h', default: 0, value: ({ state, count }) => (log.push('half'), (state.second.n + count) / 3) },
      any: { type: 'bool', ttl: '1h', default: false, value: ({ count }) => (log.push('any'), count) },
      label: { type: 'string', ttl: '1h', default: '', value: ({ event, time }) => (log.push('label'), `${event.id}@${time}`) },
    },
  });
  const state = view.initial();
  view.update(state, { id: 'a', t: 1 });
  const { row } = view.update(state, { id: 'a', t: 2 });
  assert.deepEqual(log.slice(6), ['seen', 'half', 'any', 'label', 'add first', 'add second']);
  // Coerced by type: int, float32 (Math.fround), bool (1 is true), string.
  assert.deepEqual(row, { view: 'ticks', entity: 'a', eventTime: 2, values: { seen: 1, half: Math.fround(2 / 3), any: true, label: 'a@2' } });
  assert.deepEqual(Object.keys(row.values), ['seen', 'half', 'any', 'label']);
  assert.equal(state.count, 2);
  // rowOf reads without adding.
  assert.deepEqual(view.rowOf(state, { id: 'a', t: 3 }).values.seen, 2);
  assert.equal(state.parts.first.n, 2);
});

test('state names that are not identifiers are only names in the compiled view, never code', () => {
  const log: string[] = [];
  const odd = ['recent-tx', 'with space', 'quote"s', "'];globalThis.compiledViewBroke=1;//", 'ünïcode'];
  const view = featureView({
    name: 'odd',
    entity: { name: 'thing', key: (tick: Tick) => tick.id },
    eventTime: (tick) => tick.t,
    state: Object.fromEntries(odd.map((name) => [name, counting(name, log)])),
    features: { n: { type: 'int', ttl: '1h', default: 0, value: ({ count }) => count } },
  });
  const state = view.initial();
  view.update(state, { id: 'a', t: 1 });
  assert.deepEqual(log, odd.map((name) => `add ${name}`));
  assert.deepEqual(Object.keys(state.parts), odd);
  assert.equal((globalThis as { compiledViewBroke?: number }).compiledViewBroke, undefined);
});
