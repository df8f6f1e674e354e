import { Counter, Gauge, type Registry } from 'prom-client';
import type { JobStats } from '../../core/engine/engine.ts';

/** What the metrics read from the inference worker pool at scrape time. */
export interface PoolGauges {
  readonly workers: number;
  /** Fraction of the workers' time spent running tasks since the previous read (0..1); read once per scrape. */
  readonly utilization: number;
  /** Batches waiting for a free worker thread. */
  readonly queueSize: number;
}

/**
 * The metrics read from the engine's counters and the worker pool at scrape time: records in,
 * out, dead-lettered, in flight, checkpoints, pool threads, utilisation and queue.
 *
 * @example
 * registerStatsMetrics([registry], () => running.stats(), pool);
 */
export function registerStatsMetrics(registers: Registry[], stats: () => JobStats | undefined, pool: PoolGauges | undefined): void {
    const fromStats = (name: string, help: string, read: (s: JobStats) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const s = stats();
          if (s === undefined) return;
          this.reset();
          // prom-client throws on a negative increment, which would fail the whole scrape.
          this.inc(Math.max(0, read(s)));
        },
      });
    fromStats('sluice_records_in_total', 'Records taken from the source (including undecodable ones sent to the dead-letter sink).', (s) => s.in);
    fromStats('sluice_records_out_total', 'Records written to the sink.', (s) => s.out);
    fromStats('sluice_records_dead_lettered_total', 'Dead letters written to the dead-letter sink.', (s) => s.deadLettered);
    fromStats('sluice_records_filtered_total', 'Records finished without output (filtered out).', (s) => s.dropped);
    fromStats('sluice_records_skipped_total', 'Replayed records skipped because the restored checkpoint already reflects them.', (s) => s.skipped);
    fromStats('sluice_checkpoints_total', 'Checkpoints completed.', (s) => s.checkpoints);
    new Gauge({
      name: 'sluice_records_in_flight',
      help: 'Records taken from the source and not yet done (written, dead-lettered or filtered).',
      registers,
      collect() {
        const s = stats();
        if (s !== undefined) this.set(s.inFlight);
      },
    });
    new Gauge({
      name: 'sluice_records_in_flight_peak',
      help: 'Most records in flight at once since the job started.',
      registers,
      collect() {
        const s = stats();
        if (s !== undefined) this.set(s.peakInFlight);
      },
    });
    if (pool !== undefined) {
      new Gauge({ name: 'sluice_worker_pool_threads', help: 'Inference worker threads.', registers, collect() { this.set(pool.workers); } });
      // Stream threads' pools are merged into one /metrics: a fraction averages, counts add up.
      new Gauge({ name: 'sluice_worker_pool_utilization', help: 'Fraction of the worker threads\' time spent running batches since the previous scrape (0..1).', registers, aggregator: 'average', collect() { this.set(pool.utilization); } });
      new Gauge({ name: 'sluice_worker_pool_queue_size', help: 'Batches waiting for a free worker thread.', registers, collect() { this.set(pool.queueSize); } });
    }
}
