import type { DeadLetter, Sink } from '../core/job.ts';
import { jsonlFileSink } from './jsonlFileSink.ts';

/**
 * The default dead-letter sink: one JSON line per dead letter with the reason, the stage, the
 * position and the original bytes (as UTF-8 text when they are, base64 otherwise).
 *
 * @example
 * deadLetter: () => deadLetterFileSink('.sluice/fraud-detection/dead-letters.jsonl')
 */
export function deadLetterFileSink(path: string, mode: 'overwrite' | 'append' = 'overwrite'): Sink<DeadLetter> & { readonly path: string } {
  return jsonlFileSink<DeadLetter>({ path, mode, format: (record) => describeDeadLetter(record.value) });
}

/** A dead letter as a JSON-ready object. */
export function describeDeadLetter(letter: DeadLetter): Record<string, unknown> {
  return {
    reason: letter.reason,
    stage: letter.stage,
    topic: letter.topic,
    partition: letter.partition,
    offset: letter.offset,
    key: letter.key ?? null,
    // The key's own bytes when they are not text (a Kafka key need not be UTF-8).
    ...(letter.originalKey === undefined ? {} : { originalKey: encodeOriginal(letter.originalKey) }),
    original: encodeOriginal(letter.original),
    at: new Date(letter.at).toISOString(),
  };
}

function encodeOriginal(bytes: Uint8Array | undefined): { utf8: string } | { base64: string } | null {
  if (bytes === undefined) return null;
  try {
    return { utf8: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { base64: Buffer.from(bytes).toString('base64') };
  }
}
