import type { Admin, Consumer } from 'kafkajs';
import type { Instrumentation } from '../../../core/instrumentation.ts';
import type { OffsetLedger } from './offsetLedger.ts';

/**
 * Reports a Kafka source's lag per partition (`source.lag`): after every fetched batch, and on
 * each commit tick with high watermarks asked of the broker. The tick is what keeps the figure
 * true under backpressure: a paused consumer fetches nothing, so the watermarks its batches
 * carry stand still while producers go on writing.
 *
 * @example
 * const lag = new LagReporter(ledger, instrumentation, () => kafka.admin());
 * setInterval(() => void lag.tick(), 1000);
 */
export class LagReporter {
  readonly #ledger: OffsetLedger;
  readonly #instrumentation: Instrumentation;
  readonly #makeAdmin: () => Admin;
  #admin: Promise<Admin> | undefined;
  #ticking = false;

  constructor(ledger: OffsetLedger, instrumentation: Instrumentation, makeAdmin: () => Admin) {
    this.#ledger = ledger;
    this.#instrumentation = instrumentation;
    this.#makeAdmin = makeAdmin;
  }

  /** A batch of this partition was fetched with this high watermark. */
  fetched(topic: string, partition: number, highWatermark: number): void {
    this.#ledger.observeHighWatermark(topic, partition, highWatermark);
  }

  /**
   * A fetch with nothing to hand out (only transaction markers or aborted records) never reaches
   * eachBatch; kafkajs moves past it and says so in END_BATCH_PROCESS. The lag moves with it.
   * Returns the unsubscribe.
   */
  watchSkipped(consumer: Consumer): () => void {
    return consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0) return;
      this.#ledger.observePosition(payload.topic, payload.partition, Number(payload.lastOffset) + 1);
      this.report(payload.topic, payload.partition);
    });
  }

  /** Reports one partition's lag as the ledger knows it. */
  report(topic: string, partition: number): void {
    const lag = this.#ledger.lag(topic, partition);
    if (lag !== undefined) this.#instrumentation.emit('source.lag', { topic, partition, lag });
  }

  /** Refreshes the watermarks of the assigned partitions from the broker, then reports them all. */
  async tick(): Promise<void> {
    if (this.#ticking || !this.#instrumentation.wants('source.lag')) return;
    this.#ticking = true;
    try {
      const assigned = [...this.#ledger.assigned()];
      const topics = new Set(assigned.map((p) => p.topic));
      try {
        this.#admin ??= this.#connect();
        const admin = await this.#admin;
        for (const topic of topics) {
          for (const { partition, high } of await admin.fetchTopicOffsets(topic)) this.#ledger.observeHighWatermark(topic, partition, Number(high));
        }
      } catch {
        this.#admin = undefined; // the broker is away: report what the last batches said
      }
      for (const { topic, partition } of assigned) this.report(topic, partition);
    } finally {
      this.#ticking = false;
    }
  }

  async close(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    await (await admin?.catch(() => undefined))?.disconnect().catch(() => {});
  }

  async #connect(): Promise<Admin> {
    const admin = this.#makeAdmin();
    try {
      await admin.connect();
      return admin;
    } catch (error) {
      await admin.disconnect().catch(() => {});
      throw error;
    }
  }
}
