/**
 * A short scoring job for the telemetry tests: every kind of stage the fraud job has (keyed
 * feature state, validation with dead letters, micro-batching, ONNX inference on the worker
 * pool, a decision) over a source the test controls, so it can set `trace` on records the way
 * the Kafka source does from `traceparent` headers.
 */
import type { Job } from '../../../core/defineJob.ts';
import { runJob, type RunningJob } from '../../../core/engine/engine.ts';
import type { Instrumentation } from '../../../core/instrumentation.ts';
import { defineJob, input, output } from '../../../core/index.ts';
import type { DeadLetter, Source, SourceContext } from '../../../core/job.ts';
import type { SourceRecord, TraceCarrier } from '../../../core/record.ts';
import { valueState } from '../../../core/state/keyedState.ts';
import { collectSink, type CollectSink } from '../../../connectors/collectSink.ts';
import { deadLetterWhen, infer, keyBy, map, microBatch, withState } from '../../../operators/index.ts';
import type { InferenceService } from '../../../core/inference.ts';

export const MODEL = new URL('../../../models/fraud-v1.onnx', import.meta.url).pathname;

export interface Tx {
  id: number;
  user: string;
  amount: number;
  features: number[];
}

export interface Decision {
  id: number;
  score: number;
  modelVersion: string;
  seen: number;
  flagged: boolean;
}

/** A W3C trace id / span id made from a number, so a test can tell which record it came from. */
export function upstreamTrace(i: number, sampled = true): TraceCarrier {
  const traceId = (0xabc00000 + i).toString(16).padStart(32, '0');
  const spanId = (0xdef000 + i).toString(16).padStart(16, '0');
  return { traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}` };
}

/** Records `0..count-1` over two partitions; `bad(i)` makes a negative amount (dead-lettered). */
export function transactions(count: number, options: { trace?: (i: number) => TraceCarrier | undefined; bad?: (i: number) => boolean } = {}): SourceRecord<Tx>[] {
  return Array.from({ length: count }, (_, i) => {
    const user = `u${i % 17}`;
    const tx: Tx = { id: i, user, amount: options.bad?.(i) === true ? -1 : 10 + (i % 90), features: Array.from({ length: 10 }, (_, j) => ((i * 7 + j) % 11) / 11) };
    return { key: user, value: tx, position: { topic: 'tx', partition: i % 2, offset: Math.floor(i / 2) }, trace: options.trace?.(i) };
  });
}

/**
 * A source over a list. `gate` (optional) is awaited before record `gate.at` is emitted, so a
 * test can look at the job half-way; `lag` makes it report consumer lag (and records read) as Kafka's source does.
 */
export function listSource(records: SourceRecord<Tx>[], options: { gate?: { at: number; open: Promise<void>; reached: () => void }; lag?: boolean } = {}): Source<Tx> {
  return {
    name: 'test-input',
    async run(ctx: SourceContext<Tx>) {
      const next = [0, 0];
      const total = [records.filter((r) => r.position.partition === 0).length, records.filter((r) => r.position.partition === 1).length];
      const reportLag = (partition: number) => {
        if (options.lag === true) ctx.instrumentation.emit('source.lag', { topic: 'tx', partition, lag: total[partition]! - next[partition]! });
      };
      reportLag(0);
      reportLag(1);
      for (let i = 0; i < records.length; i += 1) {
        if (options.gate !== undefined && i === options.gate.at) {
          options.gate.reached();
          await options.gate.open;
        }
        const record = records[i]!;
        const wait = ctx.emit(record);
        if (wait !== undefined) await wait;
        next[record.position.partition]! += 1;
        if (options.lag === true) ctx.instrumentation.emit('source.records', { source: 'test-input', count: 1 });
        reportLag(record.position.partition);
      }
    },
  };
}

const seen = valueState<number>('seen');

/** The scoring job over one input `tx` and one output `decisions`. */
export const scoringJob = defineJob({
  name: 'telemetry-test',
  inputs: { tx: input('tx', { parse: (value: unknown) => value as Tx }) },
  outputs: { decisions: output<Decision>('decisions') },
  pipeline: ({ tx: transactions }) =>
    transactions.pipe(
      keyBy((tx) => tx.user),
      withState(seen, (tx: Tx, state) => {
        const n = (state.get() ?? 0) + 1;
        state.update(n);
        return { tx, seen: n };
      }, { stage: 'features' }),
      deadLetterWhen(({ tx }) => (tx.amount < 0 ? 'negative amount' : undefined), { stage: 'validate' }),
      microBatch({ maxSize: 32, maxWaitMs: 2 }),
      infer({
        model: MODEL,
        columns: 10,
        features: ({ tx }) => tx.features,
        fallback: { score: 1 },
        output: ({ tx, seen: n }, prediction) => ({ id: tx.id, score: prediction.score, modelVersion: prediction.modelVersion, seen: n }),
      }),
      map((scored) => ({ ...scored, flagged: scored.score >= 0.7 }), { stage: 'decision' }),
    ),
});

/** Runs the scoring job in this process on the pool, reading `source`, writing to `sink`, with the given instrumentation bus. */
export function startJob(
  source: Source<Tx> | Source<unknown>,
  sink: CollectSink<Decision>,
  pool: InferenceService,
  instrumentation: Instrumentation,
  job: Job = scoringJob,
): { running: RunningJob; deadLetters: CollectSink<DeadLetter> } {
  const deadLetters = collectSink<DeadLetter>();
  const running = runJob(job, {
    sources: { tx: source as Source<unknown> },
    sinks: { decisions: sink as CollectSink<unknown> },
    deadLetterSink: deadLetters,
    settings: {},
    maxInFlight: 1000,
    inference: pool,
    instrumentation,
    drainTimeoutMs: 30_000,
  });
  return { running, deadLetters };
}
