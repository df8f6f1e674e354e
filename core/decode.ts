import { describeError, SluiceError } from './errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A decoder for JSON text or bytes that validates with `parse` (a zod schema's `parse`, say).
 * Its errors say whether the JSON was malformed or the record invalid.
 *
 * @example
 * const decode = jsonDecoder((value) => transactionSchema.parse(value));
 */
export function jsonDecoder<T>(parse: (value: unknown) => T): (input: string | Uint8Array) => T {
  return (input) => {
    let json: unknown;
    try {
      json = JSON.parse(typeof input === 'string' ? input : utf8.decode(input));
    } catch (error) {
      throw new SluiceError(`malformed JSON: ${describeError(error)}`);
    }
    try {
      return parse(json);
    } catch (error) {
      throw new SluiceError(`invalid record: ${describeError(error)}`);
    }
  };
}
