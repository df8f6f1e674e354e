// The engine alone, for A/B runs against older commits (npm run bench:engine): generated events → keyed
// state (a counter) → map → output discarded, no model, no features. Per-record cost is the
// summary's active-span throughput; compare two commits with the same count in one sitting.
import { defineJob, input, output, setting, valueState } from 'sluice';
import { map, withState } from 'sluice/operators';

const count = valueState<number>('count');
export default defineJob({
  name: 'engine-bench',
  settings: { count: setting.integer(1_000_000, 'records', { min: 0 }) },
  inputs: { events: input('events', { parse: (v: unknown) => v as { user: string; amount: number } }, { key: (v) => v.user }) },
  outputs: { out: output<{ user: string; n: number }>('out') },
  generate: (settings) => ({ events: { count: settings.count, make: (i: number) => ({ user: `u${i % 5000}`, amount: i % 100 }) } }),
  pipeline: ({ events }) =>
    events.pipe(
      withState(count, (v, state) => {
        const n = (state.get() ?? 0) + 1;
        state.update(n);
        return { user: v.user, n };
      }, { stage: 'count' }),
      map((v) => ({ user: v.user, n: v.n * 2 }), { stage: 'double' }),
    ),
});
