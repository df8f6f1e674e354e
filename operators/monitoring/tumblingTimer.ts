import type { SchedulerLike, Subscription } from 'rxjs';
import type { Clock } from '../../core/clock.ts';
import { requirePositiveInteger } from '../../core/errors.ts';

/** A running processing-time window timer; `stop()` cancels the next firing. */
export interface TumblingTimer {
  /** Start of the window now open (ms since the epoch). */
  readonly start: number;
  stop(): void;
}

/**
 * Calls `onClose(start, end)` at the end of every tumbling processing-time window of `windowMs`,
 * aligned to the epoch (a 60 s window closes on the minute, in every process alike). Timers run
 * on the job's scheduler, so the test driver's virtual time drives them and tests never sleep.
 *
 * @example
 * const timer = tumblingTimer(ctx.scheduler, ctx.clock, 60_000, (start, end) => report(start, end));
 * timer.stop();
 */
export function tumblingTimer(scheduler: SchedulerLike, clock: Clock, windowMs: number, onClose: (start: number, end: number) => void): TumblingTimer {
  requirePositiveInteger('windowMs', windowMs);
  let start = Math.floor(clock.now() / windowMs) * windowMs;
  let pending: Subscription | undefined;
  let stopped = false;
  const arm = () => {
    // Measured from the clock each time, so a late firing does not shift the windows after it.
    const delay = Math.max(0, start + windowMs - clock.now());
    pending = scheduler.schedule(() => {
      pending = undefined;
      const end = start + windowMs;
      start = Math.max(end, Math.floor(clock.now() / windowMs) * windowMs);
      onClose(end - windowMs, end);
      if (!stopped) arm();
    }, delay);
  };
  arm();
  return {
    get start() {
      return start;
    },
    stop() {
      stopped = true;
      pending?.unsubscribe();
      pending = undefined;
    },
  };
}
