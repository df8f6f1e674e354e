import type { AccuracyResult } from './accuracy/accuracyWindow.ts';
import type { DriftResult } from './drift/driftWindow.ts';
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
  /** A model version started serving in an `infer` stage (`from` undefined: the first one loaded). */
  'model.swapped': { stage: string; model: string; version: string; from: string | undefined };
  /** A candidate version failed validation; the serving version goes on. */
  'model.refused': { stage: string; model: string; version: string; reasons: readonly string[] };
  /**
   * A batch was also scored by the shadow model (never changing the output): decision flips at
   * `threshold`, per-record |score delta|, and how long the shadow took. `error` when it failed;
   * `skipped` when every shadow slot was busy and the batch went unshadowed.
   */
  'shadow.compared': {
    stage: string;
    model: string | undefined;
    shadow: string | undefined;
    records: number;
    flips: number;
    deltas: Float32Array | undefined;
    durationMs: number;
    error: string | undefined;
    skipped: boolean;
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
  /** Feature rows went to the online store (written, or buffered while it is down). */
  'features.materialized': { stage: string; view: string; rows: number; written: boolean; pending: number };
  /** One online lookup of a micro-batch: values served by status. */
  'features.lookup': { stage: string; view: string; entities: number; fresh: number; cached: number; defaultMissing: number; defaultExpired: number; durationMs: number };
  /** The online store failed or timed out (the job went on with buffers, cache or defaults). */
  'features.storeError': { stage: string; view: string; operation: 'lookup' | 'materialize'; count: number };
  /**
   * An `enrich` stage sends one request for a batch (retries included). `call` is the same object
   * in the later `enrich.retry` and `enrich.done` events; tracing sets `call.traceparent` to its
   * enrich span, which the request then carries so the remote service's span becomes its child.
   */
  'enrich.call': { stage: string; records: readonly Envelope<unknown>[]; startedAt: number; call: EnrichCallTrace };
  /** An attempt of an enrich request failed with a retriable error and is tried again after `delayMs`. */
  'enrich.retry': { stage: string; call: EnrichCallTrace; attempt: number; delayMs: number; error: string };
  /**
   * An enrich request is over: answered, or failed (`error`) after `attempts`; `fallbacks` records
   * got the stage's fallback. `attempts` is 0 when the open circuit breaker refused the call.
   */
  'enrich.done': { stage: string; call: EnrichCallTrace; records: readonly Envelope<unknown>[]; durationMs: number; attempts: number; fallbacks: number; error: string | undefined };
  /** The circuit breaker of an enrich stage changed state. */
  'enrich.breaker': { stage: string; state: 'closed' | 'open' | 'half-open' };
  /**
   * A drift window closed (`driftMonitor`): PSI and the KS-type distance of each feature and of
   * the score against the model's reference histograms. Once per window, not per record.
   */
  'drift.window': {
    stage: string;
    /** The model id, `fraud@1`. */
    model: string;
    /** Processing-time bounds of the window, ms since the epoch. */
    start: number;
    end: number;
    /** Rows seen in the window. */
    records: number;
    features: readonly DriftResult[];
    score: DriftResult;
    /** Columns (feature names, or `score`) whose PSI is above their threshold. */
    drifted: readonly string[];
  };
  /** An online-accuracy window closed (`onlineAccuracy`): decisions joined with their labels. */
  'accuracy.window': { stage: string; model: string; start: number; end: number; result: AccuracyResult };
}

/** The request of one enrich call, as instrumentation sees it: tracing fills in its span's traceparent. */
export interface EnrichCallTrace {
  traceparent: string | undefined;
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
