import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { describeValidationError, jsonDecoder } from '../../core/decode.ts';
import { SluiceError } from '../../core/errors.ts';

const transaction = z.object({ amount: z.number(), timestamp: z.number(), tags: z.array(z.string()).optional() });
const decode = jsonDecoder((value) => transaction.parse(value));

/** The message decode throws for `input`. */
function reason(input: string | Uint8Array): string {
  try {
    decode(input);
  } catch (error) {
    assert.ok(error instanceof SluiceError, 'decode errors are SluiceErrors');
    return error.message;
  }
  assert.fail('decode accepted the input');
}

describe('jsonDecoder', () => {
  it('turns zod issues into one readable line', () => {
    assert.equal(reason('{"amount": "12", "tags": ["a", 3]}'), 'invalid record: amount: expected number, received string; timestamp: required; tags[1]: expected string, received number');
  });

  it('reports where JSON breaks without quoting the record', () => {
    const secret = '{"card": "4111-1111-1111-1111", "amount": oops}';
    const message = reason(secret);
    assert.equal(message, `malformed JSON at byte ${secret.indexOf('oops')}: unexpected character`);
    assert.ok(!message.includes('4111'), message);
  });

  it('counts the position in bytes, not characters', () => {
    const text = '{"name": "Zoë ünïcode", "amount": }';
    // "ë", "ü" and "ï" take two bytes each: the closing brace is character 34 but byte 37.
    assert.equal(text.indexOf('}'), 34);
    assert.equal(reason(text), 'malformed JSON at byte 37: unexpected character');
  });

  it('names the problem V8 positions itself, and a cut-off input', () => {
    assert.equal(reason('{"amount": 1,}'), 'malformed JSON at byte 13: expected double-quoted property name');
    assert.equal(reason('{"amount": 1'), 'malformed JSON: unexpected end of input');
    assert.equal(reason(''), 'malformed JSON: unexpected end of input');
    assert.equal(reason('{"amount": 1} trailing'), 'malformed JSON at byte 14: unexpected character');
  });

  it('says bytes that are not UTF-8 are not UTF-8', () => {
    assert.equal(reason(new Uint8Array([0x7b, 0xff, 0xfe])), 'malformed JSON: the bytes are not valid UTF-8');
  });

  it('keeps every reason on one line', () => {
    const multiLine = jsonDecoder(() => {
      throw new Error('first line\n  second line');
    });
    assert.throws(() => multiLine('{}'), { message: 'invalid record: first line second line' });
  });

  it('decodes valid records', () => {
    assert.deepEqual(decode(new TextEncoder().encode('{"amount": 1, "timestamp": 2}')), { amount: 1, timestamp: 2 });
  });
});

describe('describeValidationError', () => {
  it('names the record itself and keeps a long list short', () => {
    assert.equal(describeValidationError(z.object({ a: z.number() }).safeParse(5).error), '(record): expected object, received number');
    const many = z.object(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, z.number()])));
    assert.match(describeValidationError(many.safeParse({}).error), /^f0: required; .*f7: required; and 2 more$/);
  });
});
