import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  computeRows,
  durationMs,
  eventWindow,
  FeatureStoreError,
  featureView,
  latest,
  timeSince,
  windowAvg,
  windowCount,
  windowSum,
} from '../../../core/features/index.ts';

interface Pay {
  user: string;
  amount: number;
  t: number;
}

const H = 3_600_000;

const view = featureView({
  name: 'pay',
  entity: { name: 'user', key: (p: Pay) => p.user },
  eventTime: (p) => p.t,
  state: {
    amounts: eventWindow<Pay>({ retain: '24h', value: (p) => p.amount }),
    last: latest((p: Pay) => p.amount),
  },
  features: {
    count_1h: { type: 'int', ttl: '1h', default: 0, value: ({ state, time }) => windowCount(state.amounts, time, '1h') },
    sum_24h: { type: 'float64', ttl: '24h', default: 0, value: ({ state, time }) => windowSum(state.amounts, time, '24h') },
    avg_24h: { type: 'float64', ttl: '24h', default: -1, value: ({ state, time }) => windowAvg(state.amounts, time, '24h', -1) },
    last_amount: { type: 'float64', ttl: '7d', default: -1, value: ({ state }) => state.last.value ?? -1 },
    ms_since_last: { type: 'int', ttl: '7d', default: -1, value: ({ state, time }) => timeSince(state.last, time) ?? -1 },
  },
});

test('windowed count, sum and avg, last value and time since last see only earlier events', () => {
  const rows = computeRows(view, [
    { user: 'a', amount: 10, t: 0 },
    { user: 'a', amount: 20, t: 30 * 60_000 },
    { user: 'b', amount: 5, t: 40 * 60_000 },
    { user: 'a', amount: 30, t: H + 20 * 60_000 }, // the event at 0 is now outside 1 h
    { user: 'a', amount: 1, t: 26 * H }, // everything before is outside 24 h
  ]);
  assert.deepEqual(rows[0]!.values, { count_1h: 0, sum_24h: 0, avg_24h: -1, last_amount: -1, ms_since_last: -1 });
  assert.deepEqual(rows[1]!.values, { count_1h: 1, sum_24h: 10, avg_24h: 10, last_amount: 10, ms_since_last: 30 * 60_000 });
  assert.deepEqual(rows[2]!.values, { count_1h: 0, sum_24h: 0, avg_24h: -1, last_amount: -1, ms_since_last: -1 });
  assert.deepEqual(rows[3]!.values, { count_1h: 1, sum_24h: 30, avg_24h: 15, last_amount: 20, ms_since_last: 50 * 60_000 });
  assert.deepEqual(rows[4]!.values, { count_1h: 0, sum_24h: 0, avg_24h: -1, last_amount: 30, ms_since_last: 26 * H - (H + 20 * 60_000) });
  assert.equal(rows[3]!.entity, 'a');
  assert.equal(rows[3]!.view, 'pay');
});

test('offline replays a shuffled history in event-time order per entity', () => {
  const history: Pay[] = [
    { user: 'a', amount: 20, t: 2000 },
    { user: 'a', amount: 10, t: 1000 },
  ];
  const rows = computeRows(view, history);
  assert.deepEqual(rows.map((r) => r.eventTime), [1000, 2000]);
  assert.equal(rows[1]!.values.last_amount, 10);
});

test('the state is plain JSON: a JSON round trip does not change what comes next', () => {
  let state = view.initial();
  state = view.update(state, { user: 'a', amount: 3, t: 1 }).state;
  const copy = JSON.parse(JSON.stringify(state)) as typeof state;
  const a = view.update(state, { user: 'a', amount: 4, t: 2 }).row;
  const b = view.update(copy, { user: 'a', amount: 4, t: 2 }).row;
  assert.deepEqual(a, b);
});

test('bad definitions fail at the boundary with one line', () => {
  assert.throws(() => durationMs('1 hour'), /must be a non-negative number of ms or text like '30s'/);
  assert.equal(durationMs('61m'), 61 * 60_000);
  assert.throws(
    () =>
      featureView({
        name: 'v',
        entity: { name: 'user', key: (p: Pay) => p.user },
        eventTime: (p) => p.t,
        state: {},
        features: { n: { type: 'int', ttl: '1h', default: 'zero', value: () => 0 } },
      }),
    (e: unknown) => e instanceof FeatureStoreError && /default of v.n must be a int/.test(e.message),
  );
  assert.throws(() => featureView({ name: 'a:b', entity: { name: 'u', key: (p: Pay) => p.user }, eventTime: (p) => p.t, state: {}, features: {} }), /feature view name/);
});
