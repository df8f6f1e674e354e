import type { TimeWindow } from './timeWindow.ts';

/**
 * When a window emits (Flink's `EventTimeTrigger`): once, when the watermark passes its end;
 * then again for every late record that still updates it (within the allowed lateness), so the
 * downstream sees the corrected result.
 *
 * @example
 * const trigger = new EventTimeTrigger();
 * trigger.fireTime(new TimeWindow(0, 60_000));      // 59_999
 * trigger.onElement(new TimeWindow(0, 60_000), 59_999); // 'fire': a late update
 */
export class EventTimeTrigger {
  /** The watermark at which the window fires on time. */
  fireTime(window: TimeWindow): number {
    return window.maxTimestamp;
  }

  /** A record was added to the window: fire now if its time has already come. */
  onElement(window: TimeWindow, watermark: number): 'fire' | 'continue' {
    return window.maxTimestamp <= watermark ? 'fire' : 'continue';
  }
}
