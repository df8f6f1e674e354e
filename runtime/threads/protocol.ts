import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { PublishRequest } from '../../connectors/filePublisher.ts';
import type { JobStats } from '../../core/engine/engine.ts';
import type { EncodedEventTime } from '../eventLatency.ts';
import type { RunOptions } from '../runCommand.ts';
import type { MetricsView } from '../ui/api.ts';
import type { ThreadUi } from './threadDashboard.ts';
import type { ThreadLimits } from './threadLimits.ts';

// The messages between the main thread (the supervisor) and its stream threads. Everything in
// them is structured-clone data: numbers, strings, plain objects.

/** What a stream thread is started with (its `workerData`). */
export interface ThreadData {
  readonly options: RunOptions;
  /** This thread's number, 0-based, and how many there are: its share of an embedded source. */
  readonly index: number;
  readonly count: number;
  /** Inference workers of this thread's own pool. */
  readonly workers: number;
  /** Keep Prometheus metrics for the main thread's `/metrics`. */
  readonly collectMetrics: boolean;
  /** `--max-records` / `--until-caught-up`, shared by the threads. */
  readonly limits?: ThreadLimits | undefined;
  /** `--ui`: send a view of this thread's pipeline every tick. */
  readonly ui?: ThreadUi | undefined;
}

/** A thread's counters at one moment. */
export interface ThreadReport {
  readonly stats: JobStats;
  /** Its latency histogram, encoded (LatencyHistogram.encode). */
  readonly latency: string;
  /** Wall-clock time (epoch ms) of its first record, for the merged active span. */
  readonly firstInAt: number | undefined;
  /** Its event-time latency (EventTimeLatency.encode), merged like `latency`. */
  readonly eventTime: EncodedEventTime;
  /** The latest consumer lag of each Kafka partition it reads now (none embedded). */
  readonly lag: ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly lag: number }>;
  /** Wall-clock time (epoch ms) of this report: a partition two reports name is the newer one's. */
  readonly at: number;
}

/** Prometheus metrics of a thread, as prom-client's `getMetricsAsJSON()` gives them. */
export type ThreadMetrics = Array<MetricObjectWithValues<MetricValue<string>>>;

export type ToThread =
  | { readonly type: 'stop'; readonly drain: boolean }
  | { readonly type: 'metrics'; readonly id: number }
  /** SIGHUP reached the process: worker threads do not get signals, so the main thread passes it on. */
  | { readonly type: 'hangup' }
  /** The main thread carried out the thread's publish request `id` (failed with `error`). */
  | { readonly type: 'published'; readonly id: number; readonly error?: string };

export type FromThread =
  | { readonly type: 'started'; readonly describe: readonly string[] }
  | { readonly type: 'log'; readonly text: string }
  | { readonly type: 'stats'; readonly report: ThreadReport }
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: ThreadMetrics }
  | { readonly type: 'done'; readonly report: ThreadReport }
  | { readonly type: 'failed'; readonly message: string; readonly report: ThreadReport | undefined }
  /** Exactly-once output files: the main thread is their one writer (see FilePublisher). */
  | { readonly type: 'publish'; readonly id: number; readonly request: PublishRequest }
  /** `--ui`: what the dashboard shows of this thread's pipeline over the last tick. */
  | { readonly type: 'view'; readonly view: MetricsView }
  | LimitMessage;

/** A thread reached a run limit: it took the run's last record, or read a partition to its backlog end. */
export type LimitMessage = { readonly type: 'limit' } | { readonly type: 'caughtUp'; readonly partition: string };

/**
 * The folder of thread `index` of `count` under `--checkpoint-dir`: one writer per folder.
 *
 * @example
 * threadFolder(0, 2) // "thread-1-of-2"
 */
export function threadFolder(index: number, count: number): string {
  return `thread-${index + 1}-of-${count}`;
}
