import { share, tap } from 'rxjs';
import type { Stream } from '../../core/streams.ts';

/**
 * Sends every record of a stream down two branches (decisions to their output and to a join,
 * say); the upstream runs once. Each record's ticket is retained once more before it is shared,
 * so the record is done only when both branches are done with it. Both branches must be used:
 * the engine subscribes every output before the inputs start, so neither misses a record.
 *
 * @example
 * const [out, toJoin] = tee(decisions);
 * return { decisions: out, labelled: toJoin.pipe(intervalJoin(labels, { ... })) };
 */
export function tee<T>(stream: Stream<T>): [Stream<T>, Stream<T>] {
  const shared = stream.pipe(
    tap((record) => record.ticket.retain()),
    share(),
  );
  return [shared, shared];
}
