import type { Envelope } from '../../core/record.ts';
import type { SlowTrace } from './api.ts';

/** Slow traced records shown at once. */
const SHOW = 10;
/** How long a slow record stays on the list. */
export const KEEP_MS = 60_000;

/**
 * The slowest traced records of the last minute, so the page can link each to its trace. Per
 * record it costs a property read for untraced records; a traced one is compared with the
 * fastest of the few kept.
 *
 * @example
 * const slow = new SlowTraces();
 * slow.written('kafka:decisions', records, performance.now());
 * slow.list()[0].traceId
 */
export class SlowTraces {
  #kept: SlowTrace[] = [];

  /** Records a sink just acknowledged at `endedAt` (performance.now() ms). */
  written(sink: string, records: readonly Envelope<unknown>[], endedAt: number): void {
    for (const record of records) {
      const carrier = record.trace;
      if (carrier === undefined) continue;
      const latencyMs = endedAt - record.receivedAt;
      const kept = this.#kept;
      if (kept.length >= SHOW && latencyMs <= kept[kept.length - 1]!.latencyMs) continue;
      const traceId = carrier.traceparent.split('-')[1];
      if (traceId === undefined || kept.some((k) => k.traceId === traceId)) continue;
      const { topic, partition, offset } = record.position;
      kept.push({ at: Date.now(), traceId, latencyMs, sink, topic, partition, offset });
      kept.sort((a, b) => b.latencyMs - a.latencyMs);
      if (kept.length > SHOW) kept.length = SHOW;
    }
  }

  /** The slowest of the last minute, slowest first; older ones make room for new ones. */
  list(now = Date.now()): SlowTrace[] {
    this.#kept = this.#kept.filter((k) => now - k.at <= KEEP_MS);
    return [...this.#kept];
  }
}
