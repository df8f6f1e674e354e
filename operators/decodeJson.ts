import type { OperatorFunction } from 'rxjs';
import { jsonDecoder } from '../core/decode.ts';
import type { Envelope } from '../core/record.ts';
import { withValue } from '../core/record.ts';
import type { Schema } from '../core/streams.ts';
import { operate, type StageOptions } from './internal/operate.ts';

/**
 * Decodes JSON text or bytes and validates it with a schema; a record that is not valid JSON or
 * fails the schema goes to the dead-letter sink with the reason (inputs declared with `input()`
 * are decoded this way already; this is for values that carry JSON inside).
 *
 * @example
 * raw.pipe(decodeJson(transactionSchema))
 */
export function decodeJson<T>(schema: Schema<T>, options?: StageOptions): OperatorFunction<Envelope<Uint8Array | string>, Envelope<T>> {
  const decode = jsonDecoder((value) => schema.parse(value));
  return operate<Envelope<Uint8Array | string>, Envelope<T>>('decode', { onError: 'dead-letter', ...options }, () => ({
    next: (record, emit) => emit(withValue(record, decode(record.value))),
  }));
}
