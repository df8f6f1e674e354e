/**
 * Incremental aggregation of a window (Flink's `AggregateFunction`): each record is folded into
 * an accumulator as it arrives, so a window holds one accumulator, not its records.
 * Accumulators must be JSON-ready (plain objects, arrays, numbers, strings, booleans, null):
 * they are written into checkpoints. `add` and `merge` may update the accumulator in place and
 * return it; `getResult` must return a fresh value (results leave while the window may still
 * change within its allowed lateness).
 *
 * @example
 * const average: AggregateFunction<number, { sum: number; count: number }, number> = {
 *   createAccumulator: () => ({ sum: 0, count: 0 }),
 *   add: (n, acc) => ({ sum: acc.sum + n, count: acc.count + 1 }),
 *   getResult: (acc) => acc.sum / acc.count,
 *   merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
 * };
 */
export interface AggregateFunction<In, Acc, Out> {
  createAccumulator(): Acc;
  add(value: In, accumulator: Acc): Acc;
  getResult(accumulator: Acc): Out;
  /** Combines two accumulators; needed by session windows, which merge. */
  merge?(a: Acc, b: Acc): Acc;
}

/**
 * A reduce function as an aggregate (Flink's `ReduceFunction`): the window's result is the
 * values combined pairwise. Values must be JSON-ready.
 *
 * @example
 * const largest = reducing((a: Tx, b: Tx) => (b.amount > a.amount ? b : a));
 */
export function reducing<T>(reduce: (a: T, b: T) => T): AggregateFunction<T, { value: T } | null, T> {
  return {
    createAccumulator: () => null,
    add: (value, accumulator) => ({ value: accumulator === null ? value : reduce(accumulator.value, value) }),
    getResult: (accumulator) => {
      if (accumulator === null) throw new Error('reducing(): getResult of an empty window');
      return accumulator.value;
    },
    merge: (a, b) => (a === null ? b : b === null ? a : { value: reduce(a.value, b.value) }),
  };
}
