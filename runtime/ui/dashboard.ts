import type { CheckpointOptions } from '../../core/checkpoint/coordinator.ts';
import type { RunningJob } from '../../core/engine/engine.ts';
import type { Instrumentation } from '../../core/instrumentation.ts';
import { redactUrl } from '../../core/redact.ts';
import type { Registry } from 'prom-client';
import type { JobGraph, JobView, MetricsView } from './api.ts';
import { CheckpointWatch } from './checkpointWatch.ts';
import { JobCollector, type ViewSource } from './jobCollector.ts';
import type { ThreadViews } from './threadViews.ts';
import { startUiServer, type UiServer } from './uiServer.ts';

/** What `sluice run --ui` knows when it starts the dashboard. */
export interface DashboardOptions {
  /** `--ui [port]` (0 picks a free one). */
  readonly port: number;
  /** `--ui-host`: 127.0.0.1 unless told otherwise. */
  readonly host?: string | undefined;
  /** `--ui-redact`: dead letters without key, bytes or value. */
  readonly redact: boolean;
  /** `--jaeger-url`: slow traces link to `<url>/trace/<traceId>`. */
  readonly jaegerUrl?: string | undefined;
  readonly job: { readonly name: string; readonly description?: string | undefined };
  /** Sources, sinks and the dead-letter sink as bound for this run. */
  readonly graph: Omit<JobGraph, 'stages'>;
  /** The run's start-up lines (already free of credentials). */
  readonly io: readonly string[];
  readonly budget: number;
  readonly workers: number;
  /**
   * What it shows: the job's bus (the telemetry's, already handed to the engine or about to be)
   * and its pool's queue; or, with stream threads, the views the threads send, merged.
   */
  readonly feed: { readonly instrumentation: Instrumentation; readonly poolQueue?: () => number } | { readonly threads: ThreadViews };
  /** Records are sampled for tracing. */
  readonly tracing: boolean;
  /** `--metrics-port`'s registry (or the threads' merged one), served at `/metrics` on the dashboard port too. */
  readonly registry?: Pick<Registry, 'metrics' | 'contentType'> | undefined;
  /** Between two updates; 1000 unless a test wants it faster. */
  readonly intervalMs?: number;
}

/** A dashboard serving one run. */
export interface Dashboard {
  readonly url: string;
  readonly server: UiServer;
  /** The run's checkpoint options with the store watched (pass them to the engine). */
  watchCheckpoints(options: CheckpointOptions | undefined): CheckpointOptions | undefined;
  /** Reads the running job's stats and stages, and follows its start and end. */
  attach(running: RunningJob): void;
  /** Follows the start and end of a run whose views come from stream threads. */
  follow(run: { readonly started: Promise<unknown>; readonly done: Promise<unknown> }): void;
  /** One line for the start-up banner. */
  describe(): string;
  close(): Promise<void>;
}

/**
 * Starts the live dashboard of a run (before the job, so a taken port fails the start in one
 * line): it listens to the job's instrumentation, updates once a second and pushes each update
 * to open pages as a server-sent event.
 *
 * @example
 * const ui = await startDashboard({ port: 8081, redact: false, job, graph, io, budget: 20_000, workers: 2, feed: { instrumentation }, tracing: false });
 * const running = runJob(job, { ...engineOptions, checkpoints: ui.watchCheckpoints(checkpoints) });
 * ui.attach(running);
 * await running.done;
 * await ui.close();
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const checkpoints = new CheckpointWatch();
  const feed = options.feed;
  let collector: JobCollector | undefined;
  let unsubscribe: (() => void) | undefined;
  let views: ViewSource;
  if ('threads' in feed) {
    views = feed.threads;
  } else {
    collector = new JobCollector({
      graph: options.graph,
      budget: options.budget,
      workers: options.workers,
      redact: options.redact,
      tracing: options.tracing,
      checkpoints,
      ...(feed.poolQueue === undefined ? {} : { poolQueue: feed.poolQueue }),
    });
    unsubscribe = collector.subscribe(feed.instrumentation);
    views = collector;
  }
  const listeners = new Set<(event: string, data: unknown) => void>();
  const startedAt = Date.now();
  const jaegerUrl = options.jaegerUrl === undefined ? undefined : options.jaegerUrl.replace(/\/+$/, '');
  let state: JobView['state'] = 'starting';

  const job = (): JobView => ({
    name: options.job.name,
    description: options.job.description,
    startedAt,
    state,
    io: options.io,
    graph: { ...options.graph, stages: views.stages() },
    budget: options.budget,
    workers: options.workers,
    redacted: options.redact,
    jaegerUrl,
    tracing: options.tracing,
    // The threads' stores are watched in the threads: their views say whether they checkpoint.
    checkpoints: collector === undefined ? views.latest()?.checkpoints.enabled === true : checkpoints.view().enabled,
  });
  const metrics = (): MetricsView => ({ ...(views.latest() ?? views.tick()), history: views.history() });

  const server = await startUiServer(
    {
      job,
      metrics,
      listen: (send) => {
        listeners.add(send);
        send('job', job());
        return () => listeners.delete(send);
      },
      registry: options.registry,
    },
    { port: options.port, host: options.host },
  );

  let stagesSeen = 0;
  const timer = setInterval(() => {
    const view = views.tick();
    const stages = views.stages().length;
    const jobChanged = stages !== stagesSeen;
    stagesSeen = stages;
    for (const send of listeners) {
      if (jobChanged) send('job', job());
      send('metrics', view);
    }
  }, options.intervalMs ?? 1000);
  timer.unref();

  const announce = (next: JobView['state']) => {
    state = next;
    const view = job();
    for (const send of listeners) send('job', view);
  };
  const follow = (run: { readonly started: Promise<unknown>; readonly done: Promise<unknown> }) => {
    run.started.then(() => announce('running'), () => announce('failed'));
    run.done.then(() => announce('finished'), () => announce('failed'));
  };

  return {
    url: server.url,
    server,
    watchCheckpoints: (given) => checkpoints.wrap(given),
    attach: (running) => {
      collector?.attach(running);
      follow(running);
    },
    follow,
    describe: () => `dashboard: ${server.url}${options.redact ? ' (dead letters redacted)' : ''}${jaegerUrl === undefined ? '' : ` — traces at ${redactUrl(jaegerUrl)}`}`,
    close: async () => {
      clearInterval(timer);
      unsubscribe?.();
      await server.close();
    },
  };
}
