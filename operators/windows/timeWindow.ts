/**
 * A window of event time, `[start, end)` in ms since the epoch. Its last instant,
 * `maxTimestamp = end - 1`, is what the watermark must pass for the window to fire.
 *
 * @example
 * const w = new TimeWindow(60_000, 120_000);
 * w.maxTimestamp;                                     // 119_999
 * w.intersects(new TimeWindow(120_000, 130_000));     // true: touching sessions merge
 */
export class TimeWindow {
  readonly start: number;
  readonly end: number;
  #id: string | undefined;

  constructor(start: number, end: number) {
    this.start = start;
    this.end = end;
  }

  get maxTimestamp(): number {
    return this.end - 1;
  }

  /** Overlapping or touching (Flink's rule, so sessions one gap apart merge). */
  intersects(other: TimeWindow): boolean {
    return this.start <= other.end && this.end >= other.start;
  }

  /** The smallest window holding both. */
  cover(other: TimeWindow): TimeWindow {
    return new TimeWindow(Math.min(this.start, other.start), Math.max(this.end, other.end));
  }

  /** A map key for the window. */
  get id(): string {
    return (this.#id ??= `${this.start}:${this.end}`);
  }

  toString(): string {
    return `[${new Date(this.start).toISOString()}, ${new Date(this.end).toISOString()})`;
  }
}
