import { jsonlFileSink } from '../../connectors/jsonlFileSink.ts';
import type { Sink } from '../../core/job.ts';
import type { Envelope } from '../../core/record.ts';
import type { LateRecord, WindowOutput, WindowResult } from '../../operators/windows/windowOutput.ts';

export interface WindowFileSinkOptions<R, T> {
  /** JSONL file of window results (appended to). */
  results: string;
  /** JSONL file of the side output: records too late for any window (appended to). */
  late: string;
  /** One result as a JSON-ready line. */
  formatResult: (result: WindowResult<R>) => unknown;
  /** One late record as a JSON-ready line. */
  formatLate: (late: LateRecord<T>) => unknown;
}

/**
 * Writes a window operator's two outputs to two JSONL files: results to one, the side output of
 * late records to the other. Every record counts as written (and its ticket done) once its file
 * accepted it, so late records follow the same at-least-once path as results.
 *
 * @example
 * sink: () => windowFileSink({ results: 'out/windows.jsonl', late: 'out/late.jsonl', formatResult, formatLate })
 */
export function windowFileSink<R, T>(options: WindowFileSinkOptions<R, T>): Sink<WindowOutput<R, T>> {
  const results = jsonlFileSink<WindowOutput<R, T>>({ path: options.results, format: (record) => options.formatResult(record.value as WindowResult<R>) });
  const late = jsonlFileSink<WindowOutput<R, T>>({ path: options.late, format: (record) => options.formatLate(record.value as LateRecord<T>) });
  return {
    name: `windows:${options.results}+late:${options.late}`,
    async write(records) {
      const windows: Envelope<WindowOutput<R, T>>[] = [];
      const stragglers: Envelope<WindowOutput<R, T>>[] = [];
      for (const record of records) (record.value.kind === 'window' ? windows : stragglers).push(record);
      await Promise.all([windows.length > 0 ? results.write(windows) : undefined, stragglers.length > 0 ? late.write(stragglers) : undefined]);
    },
    async flush() {
      await Promise.all([results.flush?.(), late.flush?.()]);
    },
    async close() {
      await Promise.all([results.close?.(), late.close?.()]);
    },
  };
}
