import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';
import { startMetricsServer, type MetricsServer } from '../telemetry/metricsServer.ts';
import type { ThreadMetrics } from './protocol.ts';

/** The merged `/metrics` server, and the merged registry (the dashboard serves it too). */
export type ThreadMetricsServer = MetricsServer & { readonly registry: Pick<Registry, 'metrics' | 'contentType'> };

/**
 * One `/metrics` for all stream threads: at each scrape every thread sends its registry as JSON
 * and prom-client's AggregatorRegistry (made for cluster workers) adds them up — counters,
 * histograms and gauges summed per label set — next to this process's own CPU and memory
 * metrics, which only the main thread reports.
 *
 * @example
 * const server = await startThreadMetrics({ jobName: 'fraud-detection', port: 9464, threads: () => supervisor.metrics() });
 */
export async function startThreadMetrics(options: { jobName: string; port: number; host?: string | undefined; threads: () => Promise<ThreadMetrics[]> }): Promise<ThreadMetricsServer> {
  const own = new Registry();
  own.setDefaultLabels({ sluice_job: options.jobName });
  collectDefaultMetrics({ register: own });
  const merged = {
    contentType: own.contentType,
    metrics: async (): Promise<string> => {
      const parts = await options.threads();
      return AggregatorRegistry.aggregate([await own.getMetricsAsJSON(), ...parts]).metrics();
    },
  };
  return { ...(await startMetricsServer(merged, { port: options.port, host: options.host })), registry: merged };
}
