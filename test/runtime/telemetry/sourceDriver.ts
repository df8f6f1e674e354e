/**
 * Drives a traced source without the engine: runs it against a stub SourceContext that takes
 * every record at once, then reports stage and sink events for those records on the
 * instrumentation bus, the way the engine's operators do. Enough to make every kind of span
 * tracing creates (consume, stage, produce, dead-letter) for thousands of records in a test.
 *
 * @example
 * const telemetry = await startTelemetry({ jobName: 'drive', traceSample: 1 });
 * const emitted = await driveSource(telemetry, records);
 * finishRecords(telemetry.instrumentation, emitted);
 */
import { Instrumentation } from '../../../core/instrumentation.ts';
import type { Source, SourceContext } from '../../../core/job.ts';
import type { Envelope, SourceRecord, TraceCarrier } from '../../../core/record.ts';
import type { Telemetry } from '../../../runtime/telemetry/telemetry.ts';

/** What a stubbed source context received. */
export interface Emitted {
  records: SourceRecord<unknown>[];
  deadLetters: { record: SourceRecord<unknown>; reason: string }[];
}

/** Records 0..count-1 with key `user-<i>` and value `{ id: i }`, optionally with a trace each. */
export function records(count: number, trace?: (i: number) => TraceCarrier | undefined): SourceRecord<unknown>[] {
  return Array.from({ length: count }, (_, i) => ({ key: `user-${i}`, value: { id: i }, position: { topic: 'in', partition: 0, offset: i }, trace: trace?.(i) }));
}

/** Runs `input` through the telemetry's traced source: each record's consume span starts and ends. */
export async function driveSource(telemetry: Telemetry, input: SourceRecord<unknown>[], deadLetter: (i: number) => string | undefined = () => undefined): Promise<Emitted> {
  const emitted: Emitted = { records: [], deadLetters: [] };
  const source: Source<unknown> = {
    name: 'in',
    async run(ctx) {
      input.forEach((record, i) => {
        const reason = deadLetter(i);
        if (reason === undefined) void ctx.emit(record);
        else void ctx.deadLetter(record, reason);
      });
    },
  };
  const traced = telemetry.instrumentSources({ in: source }).in!;
  // Only what a traced source uses is real; the rest of the engine's context is not needed here.
  const ctx = {
    emit: (record: SourceRecord<unknown>) => {
      emitted.records.push(record);
      return undefined;
    },
    deadLetter: (record: SourceRecord<unknown>, reason: string) => {
      emitted.deadLetters.push({ record, reason });
      return undefined;
    },
    signal: new AbortController().signal,
    instrumentation: telemetry.instrumentation,
  } as unknown as SourceContext<unknown>;
  await traced.run(ctx);
  return emitted;
}

/** Reports a `features` stage and a sink write for every emitted record, and the dead letters. */
export function finishRecords(instrumentation: Instrumentation, emitted: Emitted): void {
  const envelopes = emitted.records as unknown as Envelope<unknown>[];
  for (const record of envelopes) {
    const at = performance.now();
    instrumentation.emit('stage.done', { stage: 'features', record, startedAt: at, endedAt: at + 0.01 });
  }
  const at = performance.now();
  instrumentation.emit('sink.written', { sink: 'out', records: envelopes, startedAt: at, endedAt: at + 0.1 });
  for (const { record, reason } of emitted.deadLetters) {
    instrumentation.emit('record.deadLettered', { stage: 'decode', reason, record: record as unknown as Envelope<unknown> });
  }
}
