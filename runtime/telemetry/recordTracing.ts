import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, createTraceState, type Attributes, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api';
import { threadId } from 'node:worker_threads';
import { parseTraceParent } from '@opentelemetry/core';
import type { Instrumentation, InstrumentationEvents } from '../../core/instrumentation.ts';
import type { Source, SourceContext } from '../../core/job.ts';
import type { Envelope, SourceRecord, TraceCarrier } from '../../core/record.ts';
import { validTraceparent } from '../../core/traceContext.ts';
import { recordSampler, type SamplingPolicy } from './sampling.ts';
import { fromEpoch, hr, shortReason } from './spanFields.ts';

/** What tracing remembers about one sampled record while it is in the job. */
interface RecordTrace {
  /** Holds the consume span: the parent of every stage span of this record. */
  readonly context: Context;
  /** The consume span until the record reaches its first stage. */
  consume: Span | undefined;
  /** When the record last left a stage (performance.now() ms): where a wait begins. */
  lastEnd: number;
  /** Its batch-wait span, open from batch.formed until the batch's inference is known. */
  wait: Span | undefined;
  batchedAt: number;
}

/**
 * Turns the instrumentation events of sampled records into spans. A record is sampled once,
 * at the source (see {@link RecordTracing.traceSource}); the decision rides with it as the
 * envelope's `trace` carrier, which now names the record's own consume span, so the output
 * carries the trace on (`traceparent`) and every later event finds the record's trace with
 * one WeakMap lookup. Unsampled records cost a property read per event.
 *
 * Spans are created after the fact with the times the events report: a stage span from
 * `stage.done`, the batch wait from `batch.formed`, one inference span per batch from
 * `inference.done` built from the worker thread's own start/end times and thread id, the sink
 * produce span from `sink.written`, and a dead-letter span from `record.deadLettered`.
 *
 * Span attributes never hold record contents: positions, stage, sink and model names, batch
 * sizes, and the record key unless `keysInSpans` is off (keys can be personal data). A
 * dead-letter reason is kept to one line of 200 characters; Sluice's own
 * reasons quote no record bytes, a job's own reasons are its business.
 */
export class RecordTracing {
  readonly #tracer: Tracer;
  readonly #sample: (trace: TraceCarrier | undefined) => boolean;
  readonly #traces = new WeakMap<TraceCarrier, RecordTrace>();
  readonly #openWaits = new Set<RecordTrace>();
  readonly #keysInSpans: boolean;
  #sampled = 0;

  constructor(tracer: Tracer, policy: SamplingPolicy, options: { keysInSpans?: boolean } = {}) {
    this.#tracer = tracer;
    this.#sample = recordSampler(policy);
    this.#keysInSpans = options.keysInSpans ?? true;
  }

  /** Records that got a trace so far. */
  get sampled(): number {
    return this.#sampled;
  }

  /**
   * The source, with a per-record sampling decision in front of `emit`: a sampled record
   * starts its trace (continuing the `trace` it came with) with a consume span.
   */
  traceSource<T>(source: Source<T>): Source<T> {
    const traced: Source<T> = {
      name: source.name,
      run: (ctx) => source.run(this.#sourceContext(ctx, source.name)),
    };
    if (source.close !== undefined) traced.close = () => source.close!();
    return traced;
  }

  /** Listens to the job's events; returns the unsubscribe. */
  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [
      instrumentation.on('stage.done', (event) => this.#stageDone(event)),
      instrumentation.on('batch.formed', (event) => this.#batchFormed(event)),
      instrumentation.on('inference.done', (event) => this.#inferenceDone(event)),
      instrumentation.on('sink.written', (event) => this.#sinkWritten(event)),
      instrumentation.on('record.deadLettered', (event) => this.#deadLettered(event)),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  /** Ends the spans still open (a batch whose inference never reported), before a flush. */
  endOpenSpans(): void {
    for (const state of this.#openWaits) this.#endWait(state);
  }

  #sourceContext<T>(ctx: SourceContext<T>, sourceName: string): SourceContext<T> {
    const sample = this.#sample;
    const admitted = (state: RecordTrace, wait: Promise<void> | undefined): Promise<void> | undefined => {
      if (wait === undefined) {
        this.#endConsume(state, performance.now());
        return undefined;
      }
      return wait.then(() => this.#endConsume(state, performance.now()));
    };
    return {
      ...ctx,
      emit: (record) => {
        if (!sample(record.trace)) return ctx.emit(record);
        const [traced, state] = this.#begin(record, sourceName);
        return admitted(state, ctx.emit(traced));
      },
      deadLetter: (record, reason) => {
        if (!sample(record.trace)) return ctx.deadLetter(record, reason);
        const [traced, state] = this.#begin(record, sourceName);
        return admitted(state, ctx.deadLetter(traced, reason));
      },
    };
  }

  #begin<V>(record: SourceRecord<V>, sourceName: string): [SourceRecord<V>, RecordTrace] {
    this.#sampled += 1;
    const startedAt = performance.now();
    // A malformed upstream traceparent (any source may set one) starts a fresh trace.
    const valid = record.trace !== undefined && validTraceparent(record.trace.traceparent);
    const upstream = valid ? parseTraceParent(record.trace!.traceparent) : null;
    let parent = ROOT_CONTEXT;
    if (upstream !== null) {
      if (record.trace?.tracestate !== undefined) upstream.traceState = createTraceState(record.trace.tracestate);
      parent = trace.setSpanContext(ROOT_CONTEXT, upstream);
    }
    const { position } = record;
    const attributes: Attributes = {
      'sluice.source': sourceName,
      'messaging.destination.name': position.topic,
      'messaging.destination.partition.id': String(position.partition),
      'sluice.offset': position.offset,
    };
    if (this.#keysInSpans && record.key !== undefined) attributes['sluice.key'] = record.key;
    const consume = this.#tracer.startSpan(`consume ${sourceName}`, { kind: SpanKind.CONSUMER, startTime: hr(startedAt), attributes }, parent);
    const spanContext = consume.spanContext();
    const carrier: TraceCarrier = { traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-01` };
    if (upstream !== null && record.trace?.tracestate !== undefined) carrier.tracestate = record.trace.tracestate;
    const state: RecordTrace = { context: trace.setSpan(ROOT_CONTEXT, consume), consume, lastEnd: startedAt, wait: undefined, batchedAt: 0 };
    this.#traces.set(carrier, state);
    return [{ ...record, trace: carrier }, state];
  }

  #lookup(record: Envelope<unknown>): RecordTrace | undefined {
    const carrier = record.trace;
    return carrier === undefined ? undefined : this.#traces.get(carrier);
  }

  #endConsume(state: RecordTrace, at: number): void {
    if (state.consume === undefined) return;
    state.consume.end(hr(at));
    state.consume = undefined;
    state.lastEnd = at;
  }

  #endWait(state: RecordTrace, link?: Link): void {
    const wait = state.wait;
    if (wait === undefined) return;
    if (link !== undefined) wait.addLink(link);
    wait.end(hr(state.batchedAt));
    state.wait = undefined;
    this.#openWaits.delete(state);
  }

  /** Closes what a record left open before a later stage reports on it. */
  #settle(state: RecordTrace, at: number): void {
    this.#endConsume(state, at);
    this.#endWait(state);
  }

  #span(state: RecordTrace, name: string, startedAt: number, endedAt: number, attributes: Attributes, kind: SpanKind = SpanKind.INTERNAL, error?: string): void {
    const span = this.#tracer.startSpan(name, { kind, startTime: hr(startedAt), attributes }, state.context);
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end(hr(endedAt));
    state.lastEnd = endedAt;
  }

  #stageDone({ stage, record, startedAt, endedAt }: InstrumentationEvents['stage.done']): void {
    const state = this.#lookup(record);
    if (state === undefined) return;
    this.#settle(state, startedAt);
    this.#span(state, stage, startedAt, endedAt, { 'sluice.stage': stage });
  }

  #batchFormed({ stage, records, waitedMs }: InstrumentationEvents['batch.formed']): void {
    let now: number | undefined;
    for (const record of records) {
      const state = this.#lookup(record);
      if (state === undefined) continue;
      now ??= performance.now();
      this.#settle(state, now);
      state.wait = this.#tracer.startSpan(
        'batch wait',
        { startTime: hr(state.lastEnd), attributes: { 'sluice.stage': stage, 'sluice.batch.size': records.length, 'sluice.batch.waited_ms': waitedMs } },
        state.context,
      );
      state.batchedAt = now;
      this.#openWaits.add(state);
    }
  }

  #inferenceDone(event: InstrumentationEvents['inference.done']): void {
    let sampled: RecordTrace[] | undefined;
    for (const record of event.records) {
      const state = this.#lookup(record);
      if (state !== undefined) (sampled ??= []).push(state);
    }
    if (sampled === undefined) return;
    const { worker } = event;
    const endedAt = event.startedAt + event.durationMs;
    const links: Link[] = sampled.map((state) => ({ context: (state.wait ?? trace.getSpan(state.context)!).spanContext() }));
    const attributes: Attributes = {
      'sluice.stage': event.stage,
      'sluice.model': event.model.replace(/^.*[\\/]/, ''),
      'sluice.model.version': event.modelVersion ?? 'unknown',
      'sluice.batch.size': event.records.length,
      'sluice.batch.sampled': sampled.length,
    };
    // The span covers the model run on the worker thread (or on this one, for a batch the pool
    // scored here), with that thread's own clock readings (epoch ms) brought onto this thread's
    // performance clock.
    let startTime = event.startedAt;
    let endTime = endedAt;
    if (worker !== undefined) {
      attributes['thread.id'] = worker.threadId;
      attributes['thread.name'] = worker.threadId === threadId ? 'job' : `inference-worker-${worker.threadId}`;
      startTime = fromEpoch(worker.startedAt);
      endTime = fromEpoch(worker.endedAt);
      attributes['sluice.inference.queued_ms'] = Math.max(0, startTime - event.startedAt);
      attributes['sluice.inference.round_trip_ms'] = event.durationMs;
    }
    const first = sampled[0]!;
    const span = this.#tracer.startSpan(`inference ${String(attributes['sluice.model'])}`, { startTime: hr(startTime), links, attributes }, first.context);
    if (event.error !== undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: event.error });
      span.addEvent('exception', { 'exception.message': event.error }, hr(endTime));
    }
    span.end(hr(endTime));
    const back: Link = { context: span.spanContext(), attributes: { 'sluice.link': 'inference batch' } };
    for (const state of sampled) {
      this.#endWait(state, back);
      state.lastEnd = endedAt;
    }
  }

  #sinkWritten({ sink, records, startedAt, endedAt }: InstrumentationEvents['sink.written']): void {
    for (const record of records) {
      const state = this.#lookup(record);
      if (state === undefined) continue;
      this.#settle(state, startedAt);
      this.#span(state, `produce ${sink}`, startedAt, endedAt, { 'sluice.sink': sink, 'sluice.sink.batch_size': records.length }, SpanKind.PRODUCER);
    }
  }

  #deadLettered({ stage, reason, record }: InstrumentationEvents['record.deadLettered']): void {
    if (record === undefined) return;
    const state = this.#lookup(record);
    if (state === undefined) return;
    const now = performance.now();
    this.#settle(state, now);
    const shown = shortReason(reason);
    this.#span(state, 'dead-letter', now, now, { 'sluice.stage': stage, 'sluice.dead_letter.reason': shown }, SpanKind.INTERNAL, shown);
  }
}
