import type { SchedulerLike } from 'rxjs';
import type { Clock } from '../clock.ts';

/**
 * A Clock that reads an RxJS scheduler's time, so idleness (processing time) and the timers an
 * operator schedules agree — in tests both run on a TestScheduler's virtual time.
 *
 * @example
 * const clock = schedulerClock(testScheduler);
 */
export function schedulerClock(scheduler: SchedulerLike): Clock {
  return { now: () => scheduler.now() };
}
