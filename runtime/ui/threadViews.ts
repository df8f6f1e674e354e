import type { JobStats } from '../../core/engine/engine.ts';
import type { HistoryPoint, MetricsView } from './api.ts';
import { CounterRates, keepHistory, type ViewSource } from './jobCollector.ts';
import { mergeViews, stilled } from './mergeViews.ts';

const NO_RATES: MetricsView['rates'] = { in: 0, out: 0, deadLettered: 0 };

/**
 * The dashboard's views with `--parallelism N`: each stream thread collects its own pipeline's
 * view once a second (with mergeable time windows) and sends it; this keeps each thread's
 * newest and merges them at every tick, with the supervisor's counters for the totals.
 *
 * @example
 * const views = new ThreadViews({ stats: () => supervisor.stats() });
 * // on each thread's message: views.offer(thread, view); when a thread ends: views.offer(thread, undefined)
 * const dashboard = await startDashboard({ ...options, feed: { threads: views } });
 */
export class ThreadViews implements ViewSource {
  readonly #views = new Map<number, MetricsView>();
  /** Threads whose last view is stilled (they ended); a restart's first view retires it. */
  readonly #ended = new Set<number>();
  /**
   * What the threads replaced by restarts had counted, folded into one stilled view: one view per
   * restart would pile up over a long run and be merged again every second.
   */
  #retired: MetricsView | undefined;
  readonly #history: HistoryPoint[] = [];
  readonly #stats: () => JobStats;
  readonly #keepDeadLetters: number;
  readonly #rates = new CounterRates();
  #latest: MetricsView | undefined;

  constructor(options: { stats: () => JobStats; keepDeadLetters?: number }) {
    this.#stats = options.stats;
    this.#keepDeadLetters = options.keepDeadLetters ?? 50;
  }

  /**
   * Thread `thread`'s newest view; undefined when it ended: what it counted stays, its rates
   * stop. The first view of a thread restarted in its place keeps the ended one's counts too.
   */
  offer(thread: number, view: MetricsView | undefined): void {
    const last = this.#views.get(thread);
    if (view === undefined) {
      if (last !== undefined) this.#views.set(thread, stilled(last));
      this.#ended.add(thread);
      return;
    }
    if (this.#ended.delete(thread) && last !== undefined) this.#retire(last);
    this.#views.set(thread, view);
  }

  /** Adds an ended thread's last (stilled) view to what the replaced threads counted. */
  #retire(last: MetricsView): void {
    const before = this.#retired;
    // Only the counted parts of a retired view are read (mergeViews' `retired`); its totals and rates are not.
    this.#retired = before === undefined ? last : stilled(mergeViews([], { stats: this.#stats(), rates: NO_RATES, keepDeadLetters: this.#keepDeadLetters, retired: [before, last] }));
  }

  tick(): MetricsView {
    const stats = this.#stats();
    const { rates } = this.#rates.take(stats);
    const view = mergeViews([...this.#views.values()], { stats, rates, keepDeadLetters: this.#keepDeadLetters, retired: this.#retired === undefined ? undefined : [this.#retired] });
    keepHistory(this.#history, view);
    this.#latest = view;
    return view;
  }

  latest(): MetricsView | undefined {
    return this.#latest;
  }

  history(): HistoryPoint[] {
    return [...this.#history];
  }

  /** Every thread runs the same pipeline: the stages of any one of them. */
  stages(): string[] {
    for (const view of this.#views.values()) if (view.stages.length > 0) return view.stages.map((stage) => stage.name);
    return [];
  }
}
