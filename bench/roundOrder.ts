/**
 * The rows of round `round` (counted from 0) in the order to run them: every second round in
 * reverse. In a fixed order the row that ran second came out ahead (an A/A run of the
 * side-by-side bench, 2 December: the same code 1.20, 1.02 and 1.00 × itself), which would lean
 * every A/B the same way.
 *
 * @example
 * inRoundOrder(0, ['a', 'b']) // ['a', 'b']
 * inRoundOrder(1, ['a', 'b']) // ['b', 'a']
 */
export function inRoundOrder<T>(round: number, rows: readonly T[]): T[] {
  return round % 2 === 0 ? [...rows] : [...rows].reverse();
}

/**
 * Runs one round's rows one after the other in {@link inRoundOrder}, and gives their results in
 * the rows' own order.
 *
 * @example
 * const [before, after] = await runInRoundOrder(round, [() => run('before'), () => run('after')]);
 */
export async function runInRoundOrder<T>(round: number, rows: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(rows.length);
  for (const i of inRoundOrder(round, [...rows.keys()])) results[i] = await rows[i]!();
  return results;
}
