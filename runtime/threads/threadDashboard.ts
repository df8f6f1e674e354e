import type { CheckpointOptions } from '../../core/checkpoint/coordinator.ts';
import type { RunningJob } from '../../core/engine/engine.ts';
import type { Binding } from '../bindIO.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import type { MetricsView } from '../ui/api.ts';
import { CheckpointWatch } from '../ui/checkpointWatch.ts';
import { JobCollector } from '../ui/jobCollector.ts';
import { runGraph } from '../ui/runDashboard.ts';

/** What a stream thread is told of `--ui`. */
export interface ThreadUi {
  readonly redact: boolean;
  /** Between two views sent; the dashboard's own tick. */
  readonly intervalMs: number;
}

/** A thread's side of the dashboard, made before its job starts. */
export interface ThreadViewSender {
  /** The thread's checkpoint options with the store watched (pass them to the engine). */
  watchCheckpoints(options: CheckpointOptions | undefined): CheckpointOptions | undefined;
  /** Reads the running job's stats and stages from now on, and starts sending. */
  attach(running: RunningJob): void;
  /** Sends the view of the time since the last one (the job ended) and stops sending. */
  finish(): void;
}

/**
 * With `--ui` and stream threads, each thread collects what the dashboard shows of its own
 * pipeline (the same collector as one thread's run, its time windows kept mergeable) and sends
 * the view to the main thread once per tick; the main thread merges them (ThreadViews).
 *
 * @example
 * const ui = sendThreadViews({ redact: false, intervalMs: 1000 }, { binding, telemetry, budget, workers: 1, poolQueue, send: (view) => post({ type: 'view', view }) });
 * running = runJob(job, { ...options, checkpoints: ui.watchCheckpoints(checkpoints) });
 * ui.attach(running);
 */
export function sendThreadViews(
  ui: ThreadUi,
  run: { binding: Binding; telemetry: Telemetry; budget: number; workers: number; poolQueue: () => number; send: (view: MetricsView) => void },
): ThreadViewSender {
  const checkpoints = new CheckpointWatch();
  const collector = new JobCollector({
    graph: runGraph(run.binding),
    budget: run.budget,
    workers: run.workers,
    redact: ui.redact,
    tracing: run.telemetry.sampling !== undefined,
    checkpoints,
    poolQueue: run.poolQueue,
    mergeable: true,
  });
  const unsubscribe = collector.subscribe(run.telemetry.instrumentation);
  let timer: NodeJS.Timeout | undefined;
  return {
    watchCheckpoints: (options) => checkpoints.wrap(options),
    attach: (running) => {
      collector.attach(running);
      timer = setInterval(() => run.send(collector.tick()), ui.intervalMs);
      timer.unref();
    },
    finish: () => {
      unsubscribe();
      if (timer === undefined) return;
      clearInterval(timer);
      timer = undefined;
      run.send(collector.tick());
    },
  };
}
