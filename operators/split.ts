import { filter as rxFilter, share } from 'rxjs';
import type { Envelope } from '../core/record.ts';
import type { Stream } from '../core/streams.ts';

/**
 * Splits one stream into two by a type guard: each record goes to exactly one branch, so two
 * outputs can be fed from one stream (the upstream runs once). Records keep their tickets: each
 * is done when the branch it went to is done with it.
 *
 * @example
 * const [results, late] = split(windowed, isWindowResult);
 * return { windows: results, late };
 */
export function split<T, A extends T>(stream: Stream<T>, isFirst: (value: T) => value is A): [Stream<A>, Stream<Exclude<T, A>>] {
  // `share` subscribes upstream once, when the first branch is subscribed; the engine subscribes
  // every output before the inputs start, so no record is missed by the second branch.
  const shared = stream.pipe(share());
  const first = shared.pipe(rxFilter((record): record is Envelope<A> => isFirst(record.value)));
  const second = shared.pipe(rxFilter((record): record is Envelope<Exclude<T, A>> => !isFirst(record.value)));
  return [first, second];
}
