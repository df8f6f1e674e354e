import { describeError, SluiceError } from '../errors.ts';
import type { Instrumentation } from '../instrumentation.ts';
import type { DeadLetter, Sink } from '../job.ts';
import { forEachRun, LatencyHistogram } from '../latency.ts';
import type { Envelope } from '../record.ts';
import { withValue } from '../record.ts';

/**
 * Most records per sink write unless the run says otherwise. Each output has one write in flight
 * (its records are released when it resolves), so this bounds what a sink gets per round trip:
 * at 1,000, a Kafka sink whose acknowledgements take 30 ms could not pass 33,000 records/s. Sinks
 * cut their own requests (the Kafka sink by bytes, under the broker's limit).
 */
export const DEFAULT_SINK_BATCH = 10_000;

/** What the output side needs from the engine. */
export interface OutputParts {
  readonly sinks: Readonly<Record<string, Sink<unknown>>>;
  readonly deadLetterSink: Sink<DeadLetter>;
  readonly instrumentation: Instrumentation;
  /** Most records per sink write; default {@link DEFAULT_SINK_BATCH}. */
  readonly sinkBatchSize: number | undefined;
  readonly countAs: ((value: unknown) => boolean) | undefined;
  readonly fail: (error: unknown) => void;
}

/**
 * The job's way out: one writer per output sink and one for dead letters. A record is released
 * (done) only after the write that holds it resolved; latency and counts are taken there.
 */
export class Outputs {
  readonly latency = new LatencyHistogram();
  readonly #parts: OutputParts;
  readonly #writers = new Map<string, SinkWriter<unknown>>();
  readonly #deadLetters: SinkWriter<DeadLetter>;
  out = 0;
  deadLettered = 0;
  /** Dead letters of records that also went to the sink (a model fallback). */
  deadLetteredWithOutput = 0;
  counted = 0;

  constructor(parts: OutputParts) {
    this.#parts = parts;
    const { instrumentation, countAs } = parts;
    for (const [name, sink] of Object.entries(parts.sinks)) {
      this.#writers.set(
        name,
        new SinkWriter<unknown>(sink, {
          maxBatch: parts.sinkBatchSize ?? DEFAULT_SINK_BATCH,
          onWritten: (records, startedAt) => {
            const now = performance.now();
            forEachRun(records, (record) => record.receivedAt, (receivedAt, count) => this.latency.record(now - receivedAt, count));
            if (countAs !== undefined) for (const record of records) if (countAs(record.value)) this.counted += 1;
            this.out += records.length;
            if (instrumentation.wants('sink.written')) instrumentation.emit('sink.written', { sink: sink.name, records, startedAt, endedAt: now });
            for (const record of records) record.ticket.release();
          },
          onError: (error) => parts.fail(new SluiceError(`output ${name} (${sink.name}) failed: ${describeError(error)}`, { cause: error })),
        }),
      );
    }
    this.#deadLetters = new SinkWriter<DeadLetter>(parts.deadLetterSink, {
      maxBatch: 1000,
      onWritten: (records) => {
        this.deadLettered += records.length;
        for (const record of records) record.ticket.release();
      },
      onError: (error) => parts.fail(new SluiceError(`dead-letter sink "${parts.deadLetterSink.name}" failed: ${describeError(error)}`, { cause: error })),
    });
  }

  /** The writer of one output, for the engine to subscribe to its stream. */
  writer(name: string): SinkWriter<unknown> {
    const writer = this.#writers.get(name);
    if (writer === undefined) throw new SluiceError(`no sink is bound to output "${name}"`);
    return writer;
  }

  /** Sends a record to the dead-letter sink with the reason, the stage and the original bytes. */
  deadLetter(record: Envelope<unknown>, reason: string, stage: string, options?: { alsoOutput?: boolean }): void {
    if (options?.alsoOutput === true) this.deadLetteredWithOutput += 1;
    const letter: DeadLetter = {
      reason,
      stage,
      topic: record.position.topic,
      partition: record.position.partition,
      offset: record.position.offset,
      key: record.key,
      originalKey: record.originalKey,
      original: record.original,
      value: record.value,
      at: Date.now(),
    };
    const { instrumentation } = this.#parts;
    if (instrumentation.wants('record.deadLettered')) instrumentation.emit('record.deadLettered', { stage, reason, record });
    this.#deadLetters.push(withValue(record, letter));
  }

  /** Waits until every record pushed so far has been written (or a write failed). */
  async drain(): Promise<void> {
    await Promise.all([...this.#writers.values()].map((writer) => writer.drain()));
    await this.#deadLetters.drain();
  }

  async flush(): Promise<void> {
    for (const sink of Object.values(this.#parts.sinks)) await sink.flush?.();
    await this.#parts.deadLetterSink.flush?.();
  }

  async close(): Promise<void> {
    for (const sink of Object.values(this.#parts.sinks)) await sink.close?.();
    await this.#parts.deadLetterSink.close?.();
  }
}

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
