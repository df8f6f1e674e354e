import type { FeatureRow, FeatureView, ViewState } from './featureView.ts';

/**
 * The offline side of a feature view: replays a history of events through the SAME `update` the
 * streaming job runs, one state per entity, in event-time order (a stable sort, so events with
 * equal times keep their input order, as they would arriving in a stream). Returns one row per
 * event in that order.
 *
 * @example
 * const rows = computeRows(fraudFeatureView, transactions);
 * rows[0].values.tx_count_1h; // 0
 */
export function computeRows<E, S>(view: FeatureView<E, S>, events: Iterable<E>): FeatureRow[] {
  const list = Array.from(events);
  const times = list.map((e) => view.eventTime(e));
  const order = list.map((_, i) => i);
  let sorted = true;
  for (let i = 1; i < times.length && sorted; i++) sorted = times[i - 1]! <= times[i]!;
  if (!sorted) order.sort((a, b) => times[a]! - times[b]! || a - b);
  const states = new Map<string, ViewState<S>>();
  const rows: FeatureRow[] = new Array(list.length);
  for (let i = 0; i < order.length; i++) {
    const event = list[order[i]!]!;
    const key = view.entityKey(event);
    const state = states.get(key) ?? view.initial();
    const result = view.update(state, event);
    states.set(key, result.state);
    rows[i] = result.row;
  }
  return rows;
}

/**
 * A streaming updater over a `Map` of states, for embedded runs and tests: what the job does
 * inside keyed state, without the job.
 *
 * @example
 * const stream = streamingUpdater(view);
 * const row = stream(tx); // then the next event of the same user sees tx in its state
 */
export function streamingUpdater<E, S>(view: FeatureView<E, S>): (event: E) => FeatureRow {
  const states = new Map<string, ViewState<S>>();
  return (event) => {
    const key = view.entityKey(event);
    const { state, row } = view.update(states.get(key) ?? view.initial(), event);
    states.set(key, state);
    return row;
  };
}
