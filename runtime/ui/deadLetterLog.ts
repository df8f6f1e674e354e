import type { InstrumentationEvents } from '../../core/instrumentation.ts';
import { shortReason } from '../telemetry/spanFields.ts';
import type { DeadLetterEntry, DeadLetterView } from './api.ts';

/** Longest key, original text or value shown for one dead letter. */
export const MAX_PREVIEW = 1024;

const text = new TextDecoder('utf-8', { fatal: false });

/**
 * The last dead letters of a job with their reason, stage and position, and their rate. It
 * shows what the dead-letter sink already holds (key, original bytes, value), cut to 1 KB each;
 * `redact` keeps only reason, stage and position, for jobs whose records are personal data.
 * Entries are built when the event arrives (a dead letter is rare) and kept in a small ring.
 *
 * @example
 * const log = new DeadLetterLog({ keep: 50, redact: false });
 * instrumentation.on('record.deadLettered', (e) => log.add(e));
 * log.take(1).recent[0].reason
 */
export class DeadLetterLog {
  readonly #keep: number;
  readonly #redact: boolean;
  readonly #recent: DeadLetterEntry[] = [];
  readonly #byStage: Record<string, number> = {};
  #total = 0;
  #window = 0;

  constructor(options: { keep: number; redact: boolean }) {
    this.#keep = options.keep;
    this.#redact = options.redact;
  }

  add({ stage, reason, record }: InstrumentationEvents['record.deadLettered']): void {
    this.#total += 1;
    this.#window += 1;
    this.#byStage[stage] = (this.#byStage[stage] ?? 0) + 1;
    const entry: DeadLetterEntry = {
      at: Date.now(),
      stage,
      reason: shortReason(reason),
      topic: record?.position.topic,
      partition: record?.position.partition,
      offset: record?.position.offset,
      ...(this.#redact || record === undefined ? {} : { key: cut(record.key), original: record.original === undefined ? undefined : cut(text.decode(record.original)), value: cut(json(record.value)) }),
    };
    this.#recent.unshift(entry);
    if (this.#recent.length > this.#keep) this.#recent.length = this.#keep;
  }

  /** Dead letters a stage sent so far. */
  count(stage: string): number {
    return this.#byStage[stage] ?? 0;
  }

  /** The view over the last `seconds`; starts a new rate window. */
  take(seconds: number): DeadLetterView {
    const rate = seconds > 0 ? this.#window / seconds : 0;
    this.#window = 0;
    return { total: this.#total, rate, byStage: { ...this.#byStage }, recent: [...this.#recent] };
  }
}

function cut(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.length <= MAX_PREVIEW ? value : `${value.slice(0, MAX_PREVIEW - 1)}…`;
}

function json(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    // Bytes would print as an object of indices; the original text is shown beside it anyway.
    if (value instanceof Uint8Array) return `<${value.length} bytes>`;
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
