import type { OperatorFunction } from 'rxjs';
import type { JobContext } from '../core/job.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import { recordOperator } from './internal/recordOperator.ts';

/**
 * Maps each record's value, keeping its envelope (key, position, trace, completion). This is
 * how a plain RxJS `map` is written in a job. A throw fails the job: use `tryMap` for per-record
 * failures that should go to the dead-letter sink instead. Given the job context and a stage
 * name, it reports each record as `stage.done` (a span in a trace, a per-stage latency).
 *
 * @example
 * pipe(mapValue((tx: Transaction) => tx.amount * 100))
 * pipe(mapValue((scored: Scored) => decide(scored), ctx, 'decision'))
 */
export function mapValue<A, B>(project: (value: A, record: Envelope<A>) => B, ctx?: JobContext, stage = 'map'): OperatorFunction<Envelope<A>, Envelope<B>> {
  const instrumentation = ctx?.instrumentation;
  return recordOperator<Envelope<A>, Envelope<B>>(() => ({
    next: (record, emit) => {
      if (instrumentation === undefined || !instrumentation.wants('stage.done')) {
        emit(withValue(record, project(record.value, record)));
        return;
      }
      const startedAt = performance.now();
      const result = withValue(record, project(record.value, record));
      instrumentation.emit('stage.done', { stage, record: result, startedAt, endedAt: performance.now() });
      emit(result);
    },
  }));
}
