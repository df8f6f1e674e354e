import type { Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
// The trace SDK's own package, not sdk-node: a run that traces nothing should not load the exporters.
import * as tracing from '@opentelemetry/sdk-trace-base';

type ReadableSpan = tracing.ReadableSpan;
type SpanExporter = tracing.SpanExporter;

/** Why spans were lost on their way out. */
export type SpanDropReason = 'queue_full' | 'export_failed';

/** What happened to the spans Sluice ended, summed over every exporter's queue. */
export interface SpanCounts {
  /** Sampled spans ended (each counted once, whatever the number of exporters). */
  created: number;
  /** Spans the exporter confirmed. */
  exported: number;
  /** Spans lost, by reason. */
  readonly dropped: Record<SpanDropReason, number>;
}

/** Fresh zeroed counts. */
export function spanCounts(): SpanCounts {
  return { created: 0, exported: 0, dropped: { queue_full: 0, export_failed: 0 } };
}

/** The default of OTEL_BSP_MAX_QUEUE_SIZE, as the OpenTelemetry SDK has it. */
export const DEFAULT_MAX_QUEUE_SIZE = 2048;

export interface CountedSpanQueueOptions {
  /** Spans waiting for export beyond which new ones are dropped (OTEL_BSP_MAX_QUEUE_SIZE). */
  maxQueueSize: number;
  counts: SpanCounts;
  /** Whether this queue counts `created` (only the first of several exporters does). */
  countsCreated: boolean;
  /** Called for every loss, with how many spans it was. */
  onDrop: (reason: SpanDropReason, spans: number) => void;
}

/**
 * The SDK's BatchSpanProcessor with every lost span counted. The SDK's processor drops spans
 * when its queue is full and only says so on its diagnostic logger, which Sluice leaves off;
 * here the bound is enforced in front of it (the SDK's own queue is unbounded), with the same
 * limit and the same meaning: spans ended but not yet handed to the exporter. The exporter is
 * wrapped to learn what left the queue and whether the export succeeded.
 *
 * @example
 * const counts = spanCounts();
 * const queue = new CountedSpanQueue(exporter, { maxQueueSize: 2048, counts, countsCreated: true, onDrop: warnOnce });
 * new NodeSDK({ spanProcessors: [queue] });
 */
export class CountedSpanQueue implements tracing.SpanProcessor {
  readonly #inner: tracing.BatchSpanProcessor;
  readonly #options: CountedSpanQueueOptions;
  /** Spans handed to the batch processor and not yet to the exporter. */
  #queued = 0;
  /** Exports started and not yet answered. */
  #exporting = 0;
  #shutDown = false;
  readonly #idleWaiters: (() => void)[] = [];

  constructor(exporter: SpanExporter, options: CountedSpanQueueOptions) {
    this.#options = options;
    const counted: SpanExporter = {
      export: (spans, done) => {
        this.#queued -= spans.length;
        this.#exporting += 1;
        exporter.export(spans, (result: ExportResult) => {
          if (result.code === ExportResultCode.SUCCESS) options.counts.exported += spans.length;
          else this.#drop('export_failed', spans.length);
          this.#exporting -= 1;
          done(result);
          this.#checkIdle();
        });
      },
      // The SDK's processor shuts its exporter down once its queue is empty, even when a batch
      // it took from the queue is still waiting for resource attributes (host.id) before its
      // export starts: that batch would be lost. Wait for every queued span to be exported.
      shutdown: async () => {
        await this.#idle();
        await exporter.shutdown();
      },
      ...(exporter.forceFlush === undefined ? {} : { forceFlush: () => exporter.forceFlush!() }),
    };
    this.#inner = new tracing.BatchSpanProcessor(counted, { maxQueueSize: Number.POSITIVE_INFINITY });
  }

  onStart(_span: tracing.Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    // Like the SDK: unsampled spans and spans ended after shutdown are not exported, nor counted.
    if (this.#shutDown || (span.spanContext().traceFlags & 1) === 0) return;
    if (this.#options.countsCreated) this.#options.counts.created += 1;
    if (this.#queued >= this.#options.maxQueueSize) {
      this.#drop('queue_full', 1);
      return;
    }
    this.#queued += 1;
    this.#inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    this.#shutDown = true;
    return this.#inner.shutdown();
  }

  /** Resolves when no span is queued or being exported. */
  #idle(): Promise<void> {
    if (this.#queued === 0 && this.#exporting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #checkIdle(): void {
    if (this.#queued !== 0 || this.#exporting !== 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #drop(reason: SpanDropReason, spans: number): void {
    this.#options.counts.dropped[reason] += spans;
    this.#options.onDrop(reason, spans);
  }
}

/**
 * OTEL_BSP_MAX_QUEUE_SIZE, checked.
 *
 * @example
 * maxQueueSize({ OTEL_BSP_MAX_QUEUE_SIZE: '10000' }) // 10000
 */
export function maxQueueSize(env: NodeJS.ProcessEnv): number {
  const text = env.OTEL_BSP_MAX_QUEUE_SIZE?.trim();
  if (text === undefined || text === '') return DEFAULT_MAX_QUEUE_SIZE;
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_MAX_QUEUE_SIZE;
}
