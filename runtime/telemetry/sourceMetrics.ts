import { Counter, Gauge, type Registry } from 'prom-client';
import type { Instrumentation, InstrumentationEvents } from '../../core/instrumentation.ts';
import { partitionKey } from '../../core/partition.ts';

/**
 * What the sources report: records read, consumer lag, commits, rebalances and pauses, kept as
 * plain numbers on each event and turned into Prometheus series at scrape time.
 *
 * @example
 * const source = new SourceMetrics([registry]);
 * source.subscribe(instrumentation);
 */
export class SourceMetrics {
  readonly #records = new Map<string, number>();
  readonly #lag = new Map<string, { topic: string; partition: number; lag: number }>();
  readonly #commits = new Map<string, { topic: string; partition: number; count: number; offset: number }>();
  readonly #rebalance = { count: 0, assigned: 0, revoked: 0 };
  readonly #paused = new Map<string, { paused: boolean; pauses: number }>();

  constructor(registers: Registry[]) {
    const records = this.#records;
    const commits = this.#commits;
    const rebalance = this.#rebalance;
    const paused = this.#paused;
    const lag = this.#lag;
    new Counter({
      name: 'sluice_source_records_total',
      help: 'Records a source handed in, by source (sources that report source.records, e.g. Kafka).',
      labelNames: ['source'],
      registers,
      collect() {
        this.reset();
        for (const [source, n] of records) this.inc({ source }, n);
      },
    });
    new Counter({
      name: 'sluice_source_commits_total',
      help: 'Offsets committed, by partition.',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const c of commits.values()) this.inc({ topic: c.topic, partition: c.partition }, c.count);
      },
    });
    new Counter({
      name: 'sluice_source_pauses_total',
      help: 'Times the in-flight budget filled and the source paused.',
      labelNames: ['source'],
      registers,
      collect() {
        this.reset();
        for (const [source, p] of paused) this.inc({ source }, p.pauses);
      },
    });
    new Counter({ name: 'sluice_source_rebalances_total', help: 'Consumer-group rebalances seen.', registers, collect() { this.reset(); this.inc(rebalance.count); } });
    new Counter({ name: 'sluice_source_partitions_assigned_total', help: 'Partitions assigned by rebalances.', registers, collect() { this.reset(); this.inc(rebalance.assigned); } });
    new Counter({ name: 'sluice_source_partitions_revoked_total', help: 'Partitions revoked by rebalances.', registers, collect() { this.reset(); this.inc(rebalance.revoked); } });
    new Gauge({
      name: 'sluice_consumer_lag',
      help: 'Consumer lag by partition: high watermark minus the next offset to process (source.lag).',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const l of lag.values()) this.set({ topic: l.topic, partition: l.partition }, l.lag);
      },
    });
    new Gauge({
      name: 'sluice_source_committed_offset',
      help: 'Last offset committed, by partition.',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const c of commits.values()) this.set({ topic: c.topic, partition: c.partition }, c.offset);
      },
    });
    new Gauge({
      name: 'sluice_source_paused',
      help: '1 while the source is paused because the in-flight budget is full.',
      labelNames: ['source'],
      registers,
      collect() {
        this.reset();
        for (const [source, p] of paused) this.set({ source }, p.paused ? 1 : 0);
      },
    });
  }

  /** Listens to the source events; returns the unsubscribe. */
  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [
      instrumentation.on('source.records', (e) => this.#records.set(e.source, (this.#records.get(e.source) ?? 0) + e.count)),
      instrumentation.on('source.lag', (e) => this.#lag.set(partitionKey(e.topic, e.partition), e)),
      instrumentation.on('source.commit', (e) => this.#commit(e)),
      instrumentation.on('source.rebalance', (e) => {
        this.#rebalance.count += 1;
        this.#rebalance.assigned += e.assigned;
        this.#rebalance.revoked += e.revoked;
      }),
      instrumentation.on('source.backpressure', (e) => {
        const p = this.#paused.get(e.source) ?? { paused: false, pauses: 0 };
        if (e.paused && !p.paused) p.pauses += 1;
        p.paused = e.paused;
        this.#paused.set(e.source, p);
      }),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  #commit({ topic, partition, offset }: InstrumentationEvents['source.commit']): void {
    const key = partitionKey(topic, partition);
    const entry = this.#commits.get(key);
    if (entry === undefined) this.#commits.set(key, { topic, partition, count: 1, offset });
    else {
      entry.count += 1;
      entry.offset = offset;
    }
  }
}
