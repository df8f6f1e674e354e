import TinyQueue from 'tinyqueue';
import type { TimeWindow } from './timeWindow.ts';

/** What a timer does when the watermark reaches it. Fires run before clean-ups of the same time. */
export type TimerKind = 'fire' | 'cleanup';

/** A timer of one window of one key. */
export interface WindowTimer {
  readonly time: number;
  readonly kind: TimerKind;
  readonly scope: string;
  readonly key: string;
  readonly window: TimeWindow;
}

/**
 * Event-time timers (Flink's timer service): a min-heap of distinct times, each with the timers
 * due then. Timers are never cancelled; whoever pops one checks it still applies (the window may
 * have merged into a session, or been dropped with its scope).
 *
 * @example
 * const timers = new EventTimeTimers();
 * timers.add({ time: 59_999, kind: 'fire', scope: 'tx/0', key: 'm1', window });
 * timers.popDue(60_000); // [that timer]
 */
export class EventTimeTimers {
  /** Distinct timer times, earliest first (a priority queue: tinyqueue). */
  #times = new TinyQueue<number>([], (a, b) => a - b);
  readonly #due = new Map<number, WindowTimer[]>();

  add(timer: WindowTimer): void {
    const list = this.#due.get(timer.time);
    if (list !== undefined) {
      list.push(timer);
      return;
    }
    this.#due.set(timer.time, [timer]);
    this.#times.push(timer.time);
  }

  /** The earliest timer time, if any. */
  peek(): number | undefined {
    return this.#times.peek();
  }

  /**
   * Removes and returns the timers at or before `watermark`, in time order; within one time,
   * fires before clean-ups, then by scope, key and window start — an order that does not depend
   * on arrival, so a restored operator emits exactly what an uninterrupted one would.
   */
  popDue(watermark: number): WindowTimer[] {
    const out: WindowTimer[] = [];
    while (this.#times.length > 0 && this.#times.peek()! <= watermark) {
      const time = this.#times.pop()!;
      const list = this.#due.get(time)!;
      this.#due.delete(time);
      list.sort(byKindScopeKeyStart);
      for (const timer of list) out.push(timer);
    }
    return out;
  }

  clear(): void {
    this.#times = new TinyQueue<number>([], (a, b) => a - b);
    this.#due.clear();
  }

  get size(): number {
    return this.#times.length;
  }
}

function byKindScopeKeyStart(a: WindowTimer, b: WindowTimer): number {
  if (a.kind !== b.kind) return a.kind === 'fire' ? -1 : 1;
  if (a.scope !== b.scope) return a.scope < b.scope ? -1 : 1;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return a.window.start - b.window.start;
}
