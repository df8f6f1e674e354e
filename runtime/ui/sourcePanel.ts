import type { Instrumentation } from '../../core/instrumentation.ts';
import { partitionKey } from '../../core/partition.ts';
import type { PartitionView, SourceView } from './api.ts';

interface SourceState {
  records: number;
  windowRecords: number;
  reports: boolean;
  paused: boolean;
  pausedSince: number;
  pausedInWindow: number;
  pauses: number;
}

/**
 * What the sources report, per second: records handed in, whether fetching is paused (and for
 * how much of the second, so a pause shorter than a tick still shows), each partition's lag
 * and last commit. Kafka pauses whole topics, so a paused source marks every partition of its
 * topics (`kafka:a,b` names them) as paused.
 *
 * @example
 * const sources = new SourcePanel(['kafka:transactions']);
 * sources.subscribe(instrumentation);
 * sources.take(1, () => 0)
 */
export class SourcePanel {
  readonly #sources = new Map<string, SourceState>();
  readonly #partitions = new Map<string, { topic: string; partition: number; lag: number | undefined; committed: number | undefined }>();
  #windowStart = performance.now();

  constructor(names: readonly string[]) {
    for (const name of names) this.#state(name);
  }

  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [
      instrumentation.on('source.records', (e) => {
        const s = this.#state(e.source);
        s.reports = true;
        s.records += e.count;
        s.windowRecords += e.count;
      }),
      instrumentation.on('source.backpressure', (e) => this.#backpressure(e.source, e.paused)),
      instrumentation.on('source.lag', (e) => (this.#partition(e.topic, e.partition).lag = e.lag)),
      instrumentation.on('source.commit', (e) => (this.#partition(e.topic, e.partition).committed = e.offset)),
    ];
    return () => offs.forEach((off) => off());
  }

  /**
   * Sources and partitions over the window since the last take. A lone source that reports no
   * records of its own (a generator, a file) is given the job's input rate `jobIn`.
   */
  take(seconds: number, jobIn: { records: number; rate: number }): { sources: SourceView[]; partitions: PartitionView[]; paused: boolean } {
    const now = performance.now();
    const span = Math.max(1, now - this.#windowStart);
    this.#windowStart = now;
    const lone = this.#sources.size === 1;
    const pausedTopics = new Map<string, { now: boolean; share: number }>();
    let anyPaused = false;
    const sources: SourceView[] = [];
    for (const [name, s] of this.#sources) {
      const pausedMs = s.pausedInWindow + (s.paused ? now - s.pausedSince : 0);
      if (s.paused) s.pausedSince = now;
      s.pausedInWindow = 0;
      const pausedShare = Math.min(1, pausedMs / span);
      if (s.paused || pausedShare > 0) anyPaused = true;
      if (s.paused || pausedShare > 0) for (const topic of topicsOf(name)) pausedTopics.set(topic, { now: s.paused, share: pausedShare });
      const records = s.reports ? s.records : lone ? jobIn.records : undefined;
      const rate = s.reports ? (seconds > 0 ? s.windowRecords / seconds : 0) : lone ? jobIn.rate : undefined;
      s.windowRecords = 0;
      sources.push({ name, records, rate, paused: s.paused, pausedShare, pauses: s.pauses });
    }
    const partitions = [...this.#partitions.values()]
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
      .map((p) => ({ ...p, paused: pausedTopics.get(p.topic)?.now ?? false, pausedShare: pausedTopics.get(p.topic)?.share ?? 0 }));
    return { sources, partitions, paused: anyPaused };
  }

  #backpressure(source: string, paused: boolean): void {
    const s = this.#state(source);
    if (paused === s.paused) return;
    const now = performance.now();
    if (paused) {
      s.pauses += 1;
      s.pausedSince = Math.max(now, this.#windowStart);
    } else {
      s.pausedInWindow += now - Math.max(s.pausedSince, this.#windowStart);
    }
    s.paused = paused;
  }

  #state(name: string): SourceState {
    let s = this.#sources.get(name);
    if (s === undefined) {
      s = { records: 0, windowRecords: 0, reports: false, paused: false, pausedSince: 0, pausedInWindow: 0, pauses: 0 };
      this.#sources.set(name, s);
    }
    return s;
  }

  #partition(topic: string, partition: number): { topic: string; partition: number; lag: number | undefined; committed: number | undefined } {
    const key = partitionKey(topic, partition);
    let p = this.#partitions.get(key);
    if (p === undefined) {
      p = { topic, partition, lag: undefined, committed: undefined };
      this.#partitions.set(key, p);
    }
    return p;
  }
}

/** The topics a source reads: `kafka:a,b` → a, b; any other name is its own topic. */
function topicsOf(source: string): string[] {
  return source.startsWith('kafka:') ? source.slice('kafka:'.length).split(',') : [source];
}
