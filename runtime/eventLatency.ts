import type { Instrumentation } from '../core/instrumentation.ts';
import { forEachRun, LatencyHistogram, type LatencySummary } from '../core/latency.ts';
import type { Envelope } from '../core/record.ts';

/** Event times this far ahead of this machine's clock are another clock's, not a skew: left out. */
const AHEAD_MS = 1000;
/** The histogram's range: older event times (a backfill, generated time) are counted apart. */
const OLDEST_MS = 3_600_000;

/** Latency from each record's event timestamp to its write, and the records it could not cover. */
export interface EventTimeSummary {
  readonly latency: LatencySummary;
  /** Records whose event time was over an hour old or ahead of this clock (not in `latency`). */
  readonly outside: number;
}

/** An {@link EventTimeLatency}'s observations as plain data, for a stream thread's report. */
export interface EncodedEventTime {
  /** The histogram, as LatencyHistogram.encode gives it. */
  readonly histogram: string;
  readonly outside: number;
}

/**
 * Latency from the event's own timestamp (its creation, as the producer or the input's `time`
 * says) to its write: what a user of the output waits, Kafka and queues before the job included.
 * Processing latency (admission → written) is the engine's; this one needs event times on the
 * same clock as this machine, so times over an hour old or ahead of the clock (replays,
 * generated streams) are counted apart instead of bending the percentiles.
 *
 * @example
 * const eventTime = new EventTimeLatency();
 * instrumentation.on('sink.written', ({ records }) => eventTime.observe(records, Date.now()));
 * eventTime.summary().latency.p99;
 */
export class EventTimeLatency {
  readonly #histogram = new LatencyHistogram();
  #outside = 0;

  /** Records written at `writtenAt` (epoch ms). */
  observe(records: readonly Envelope<unknown>[], writtenAt: number): void {
    forEachRun(records, (record) => record.timestamp, (timestamp, count) => {
      const ms = writtenAt - timestamp;
      if (ms < -AHEAD_MS || ms > OLDEST_MS || Number.isNaN(ms)) this.#outside += count;
      else this.#histogram.record(Math.max(0, ms), count);
    });
  }

  summary(): EventTimeSummary {
    return { latency: this.#histogram.summary(), outside: this.#outside };
  }

  /** The observations as structured-clone data: stream threads send them to the main thread. */
  encode(): EncodedEventTime {
    return { histogram: this.#histogram.encode(), outside: this.#outside };
  }

  /**
   * Adds another's observations (a stream thread's {@link encode}): histograms add up, since
   * percentiles of parts do not combine into the whole's.
   *
   * @example
   * const all = new EventTimeLatency();
   * for (const report of reports) all.add(report.eventTime);
   */
  add(encoded: EncodedEventTime): void {
    this.#histogram.add(LatencyHistogram.decode(encoded.histogram));
    this.#outside += encoded.outside;
  }
}

/**
 * Event-time latency of every record a job writes, from its `sink.written` events.
 *
 * @example
 * const eventTime = trackEventTimeLatency(telemetry.instrumentation);
 * // ... after the run
 * formatSummary(job.name, stats, label, eventTime.summary());
 */
export function trackEventTimeLatency(instrumentation: Instrumentation): EventTimeLatency {
  const eventTime = new EventTimeLatency();
  // The event is announced as the write resolves; the wall clock (not the monotonic one) is what producers stamp events with.
  instrumentation.on('sink.written', ({ records }) => eventTime.observe(records, Date.now()));
  return eventTime;
}
