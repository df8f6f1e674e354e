import { requirePositiveInteger } from '../../core/errors.ts';
import { TimeWindow } from './timeWindow.ts';
import type { WindowAssigner } from './windowAssigner.ts';
import type { WindowSlot } from './windowState.ts';

/**
 * Sessions: a key's records at most `gapMs` apart fall in one window, which closes after
 * `gapMs` of event time without a record (Flink's `EventTimeSessionWindows.withGap`). Each
 * record gets `[t, t + gap)`; the window operator merges it with the key's windows it touches.
 *
 * @example
 * const sessions = new EventTimeSessionWindows(30 * 60_000);
 * sessions.assignWindows(1_000); // [[1_000, 1_801_000)]
 */
export class EventTimeSessionWindows implements WindowAssigner {
  readonly gapMs: number;
  readonly merging = true;

  constructor(gapMs: number) {
    this.gapMs = requirePositiveInteger('gapMs', gapMs);
  }

  assignWindows(timestamp: number): readonly TimeWindow[] {
    return [new TimeWindow(timestamp, timestamp + this.gapMs)];
  }

  describe(): string {
    return `sessions with a ${this.gapMs} ms gap`;
  }
}

/**
 * One session from a record's own window and the key's sessions it touches: the windows
 * covered, the accumulators merged in start order, the most firings any part had (so a
 * session that already fired is not taken for a new one).
 *
 * @example
 * const session = mergeSessions([open], { window, accumulator: 1, firings: 0 }, (a, b) => a + b);
 */
export function mergeSessions<Acc>(touched: readonly WindowSlot<Acc>[], own: WindowSlot<Acc>, merge: (a: Acc, b: Acc) => Acc): WindowSlot<Acc> {
  const parts = [...touched, own].sort((a, b) => a.window.start - b.window.start);
  let { window, accumulator, firings } = parts[0]!;
  for (const part of parts.slice(1)) {
    window = window.cover(part.window);
    accumulator = merge(accumulator, part.accumulator);
    firings = Math.max(firings, part.firings);
  }
  return { window, accumulator, firings };
}
