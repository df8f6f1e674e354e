import type { Sink } from '../job.ts';
import type { Envelope } from '../record.ts';

/**
 * Feeds a sink one write at a time, in arrival order, gathering whatever arrives while a write
 * is under way into the next one. Records are released (done) only after the write that holds
 * them resolved, which is what lets offsets be committed behind the sink, never ahead of it.
 */
export class SinkWriter<T> {
  readonly #sink: Sink<T>;
  readonly #maxBatch: number;
  readonly #onWritten: (records: readonly Envelope<T>[], startedAt: number) => void;
  readonly #onError: (error: unknown) => void;
  #buffer: Envelope<T>[] = [];
  #running: Promise<void> | undefined;
  #failed = false;

  constructor(
    sink: Sink<T>,
    options: { maxBatch: number; onWritten: (records: readonly Envelope<T>[], startedAt: number) => void; onError: (error: unknown) => void },
  ) {
    this.#sink = sink;
    this.#maxBatch = options.maxBatch;
    this.#onWritten = options.onWritten;
    this.#onError = options.onError;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  push(record: Envelope<T>): void {
    this.#buffer.push(record);
    // Start on a microtask so a synchronous burst of records becomes one write.
    if (this.#running === undefined && !this.#failed) this.#running = Promise.resolve().then(() => this.#pump());
  }

  /** Resolves when everything pushed so far has been written. */
  async drain(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #pump(): Promise<void> {
    try {
      while (this.#buffer.length > 0) {
        const chunk = this.#buffer.length <= this.#maxBatch ? this.#buffer : this.#buffer.slice(0, this.#maxBatch);
        this.#buffer = chunk === this.#buffer ? [] : this.#buffer.slice(this.#maxBatch);
        const startedAt = performance.now();
        await this.#sink.write(chunk);
        this.#onWritten(chunk, startedAt);
      }
    } catch (error) {
      this.#failed = true;
      this.#onError(error);
    } finally {
      this.#running = undefined;
    }
  }
}
