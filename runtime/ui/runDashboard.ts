import type { Job } from '../../core/defineJob.ts';
import type { Binding } from '../bindIO.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import type { JobGraph } from './api.ts';
import { startDashboard, type Dashboard } from './dashboard.ts';

/** Where the dashboard listens unless `--ui <port>` says otherwise. */
export const DEFAULT_UI_PORT = 8081;

/** `--ui [port]`, `--ui-host`, `--ui-redact`, `--jaeger-url`. */
export interface UiOptions {
  readonly port: number;
  readonly host?: string | undefined;
  readonly redact: boolean;
  readonly jaegerUrl?: string | undefined;
}

/**
 * The dashboard of one `sluice run`, wired to what the run already made: the bound sources and
 * sinks become the graph's ends, the telemetry's bus feeds it, the start-up lines describe it.
 *
 * @example
 * const ui = await startRunDashboard({ port: 8081, redact: false }, { job, binding, telemetry, maxInFlight: 20_000, workers: 2 });
 */
export async function startRunDashboard(
  ui: UiOptions,
  run: { job: Job; binding: Binding; telemetry: Telemetry; maxInFlight: number; workers: number; poolQueue?: () => number },
): Promise<Dashboard> {
  const { job, binding, telemetry } = run;
  return startDashboard({
    ...ui,
    job: { name: job.name, description: job.description },
    graph: runGraph(binding),
    io: [...binding.describe, ...telemetry.describe()],
    budget: run.maxInFlight,
    workers: run.workers,
    feed: { instrumentation: telemetry.instrumentation, ...(run.poolQueue === undefined ? {} : { poolQueue: run.poolQueue }) },
    tracing: telemetry.sampling !== undefined,
    registry: telemetry.metrics?.registry,
  });
}

/**
 * The graph's ends as bound for this run: each input's source, each output's sink, the
 * dead-letter sink (the stages come from the running job).
 *
 * @example
 * runGraph(binding).sources[0] // { input: 'transactions', name: 'kafka:transactions' }
 */
export function runGraph(binding: Binding): Omit<JobGraph, 'stages'> {
  return {
    sources: Object.entries(binding.sources).map(([input, source]) => ({ input, name: source.name })),
    sinks: Object.entries(binding.sinks).map(([output, sink]) => ({ output, name: sink.name })),
    deadLetters: binding.deadLetterSink.name,
  };
}
