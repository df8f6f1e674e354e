import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Instrumentation, InstrumentationEvents } from '../../core/instrumentation.ts';

/** Seconds: a local service answers in ms, a remote one in tens of ms, a timeout in seconds. */
const CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The metrics of `enrich` stages, from the `enrich.*` events (once per request, never per
 * record): circuit breaker state (`sluice_circuit_breaker_open`, the name the alert rules in
 * docs/alerts/sluice-rules.yml use), request latency by outcome, retries and fallbacks.
 *
 * @example
 * const enrich = new EnrichMetrics([registry]);
 * const off = enrich.subscribe(instrumentation);
 */
export class EnrichMetrics {
  readonly #breakerOpen: Gauge<'stage'>;
  readonly #calls: Histogram<'stage' | 'outcome'>;
  readonly #retries: Counter<'stage'>;
  readonly #fallbacks: Counter<'stage'>;

  constructor(registers: Registry[]) {
    this.#breakerOpen = new Gauge({ name: 'sluice_circuit_breaker_open', help: '1 while the circuit breaker of an enrich stage is open or half-open (records get the fallback), else 0.', labelNames: ['stage'], registers });
    this.#calls = new Histogram({
      name: 'sluice_enrich_call_duration_seconds',
      help: 'One enrich request (one batch), retries included; outcome ok, failed (fell back after its attempts) or refused (breaker open, not sent).',
      labelNames: ['stage', 'outcome'],
      buckets: CALL_BUCKETS,
      registers,
    });
    this.#retries = new Counter({ name: 'sluice_enrich_retries_total', help: 'Enrich request attempts retried after a retriable failure (5xx, timeout, unreachable).', labelNames: ['stage'], registers });
    this.#fallbacks = new Counter({ name: 'sluice_enrich_fallbacks_total', help: "Records that got an enrich stage's fallback (each also has a dead letter saying why).", labelNames: ['stage'], registers });
  }

  /** Listens to the job's enrich events; returns the unsubscribe. */
  subscribe(instrumentation: Instrumentation): () => void {
    const offs = [
      instrumentation.on('enrich.breaker', (e) => this.#breakerOpen.set({ stage: e.stage }, e.state === 'closed' ? 0 : 1)),
      instrumentation.on('enrich.retry', (e) => this.#retries.inc({ stage: e.stage })),
      instrumentation.on('enrich.done', (e) => this.#done(e)),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  #done(e: InstrumentationEvents['enrich.done']): void {
    const outcome = e.error === undefined ? 'ok' : e.attempts === 0 ? 'refused' : 'failed';
    this.#calls.observe({ stage: e.stage, outcome }, e.durationMs / 1000);
    if (e.fallbacks > 0) this.#fallbacks.inc({ stage: e.stage }, e.fallbacks);
    else this.#fallbacks.inc({ stage: e.stage }, 0);
  }
}
