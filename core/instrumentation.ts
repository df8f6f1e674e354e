import type { Envelope } from './record.ts';

/**
 * The named instrumentation points of a job, in one table (as kafkajs does), so tracing and
 * metrics hang off the same events instead of being scattered through operators. Payloads are
 * per batch where the hot path is per record, to keep the cost low.
 */
export interface InstrumentationEvents {
  /** Records handed in by the source. */
  'source.records': { source: string; count: number };
  /** The budget filled (source paused) or drained (resumed). */
  'source.backpressure': { source: string; paused: boolean };
  /** A source committed an offset. */
  'source.commit': { topic: string; partition: number; offset: number };
  /** Consumer lag of a partition: high watermark minus the next offset to process. */
  'source.lag': { topic: string; partition: number; lag: number };
  /** Partitions assigned or revoked by a rebalance. */
  'source.rebalance': { assigned: number; revoked: number };
  /** A micro-batch was cut. */
  'batch.formed': { stage: string; records: readonly Envelope<unknown>[]; waitedMs: number };
  /** A batch came back from the model (or failed / timed out). */
  'inference.done': {
    stage: string;
    model: string;
    records: readonly Envelope<unknown>[];
    startedAt: number;
    durationMs: number;
    scores: Float32Array | undefined;
    /** The version the worker reported for the model (its `<model>.json`); undefined on failure. */
    modelVersion?: string | undefined;
    error: string | undefined;
    /** Timing and identity reported by the worker thread that ran the batch. */
    worker: { threadId: number; startedAt: number; endedAt: number } | undefined;
  };
  /** Records written and acknowledged by a sink. */
  'sink.written': { sink: string; records: readonly Envelope<unknown>[]; startedAt: number; endedAt: number };
  /** A record went to the dead-letter sink. */
  'record.deadLettered': { stage: string; reason: string; record: Envelope<unknown> | undefined };
  /**
   * A stage finished with a record (feature/state update, decode, decision). Emitted per record
   * by `withState`, `decodeJson`, `tryMap` and `mapValue`; tracing turns it into a span.
   */
  'stage.done': { stage: string; record: Envelope<unknown>; startedAt: number; endedAt: number };
}

export type InstrumentationEvent = keyof InstrumentationEvents;

/**
 * A small synchronous event bus over {@link InstrumentationEvents}.
 *
 * @example
 * const instrumentation = new Instrumentation();
 * instrumentation.on('sink.written', ({ records }) => console.log(records.length));
 */
export class Instrumentation {
  readonly #listeners: { [E in InstrumentationEvent]?: Array<(payload: InstrumentationEvents[E]) => void> } = {};

  on<E extends InstrumentationEvent>(event: E, listener: (payload: InstrumentationEvents[E]) => void): () => void {
    const list = (this.#listeners[event] ??= []) as Array<(payload: InstrumentationEvents[E]) => void>;
    list.push(listener);
    return () => {
      const index = list.indexOf(listener);
      if (index >= 0) list.splice(index, 1);
    };
  }

  /** True when someone listens: lets hot paths skip building a payload nobody reads. */
  wants(event: InstrumentationEvent): boolean {
    const list = this.#listeners[event];
    return list !== undefined && list.length > 0;
  }

  emit<E extends InstrumentationEvent>(event: E, payload: InstrumentationEvents[E]): void {
    const list = this.#listeners[event] as Array<(payload: InstrumentationEvents[E]) => void> | undefined;
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(payload);
      } catch {
        // A broken metrics or tracing listener must never take records down with it.
      }
    }
  }
}
