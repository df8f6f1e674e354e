import { describeError, SluiceError } from './errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Validation issues shown in one reason; the rest are counted, so a reason stays one short line. */
const MAX_ISSUES = 8;

/**
 * A decoder for JSON text or bytes that validates with `parse` (a zod schema's `parse`, say).
 * Its errors are one line and say whether the JSON was malformed or the record invalid, without
 * quoting the record: its bytes belong only in the dead letter's value.
 *
 * @example
 * const decode = jsonDecoder((value) => transactionSchema.parse(value));
 * decode('{"amount": x}') // throws "malformed JSON at byte 11: unexpected character"
 * decode('{"amount": "1"}') // throws "invalid record: amount: expected number, received string; timestamp: required"
 */
export function jsonDecoder<T>(parse: (value: unknown) => T): (input: string | Uint8Array) => T {
  return (input) => {
    let text: string;
    try {
      text = typeof input === 'string' ? input : utf8.decode(input);
    } catch {
      throw new SluiceError('malformed JSON: the bytes are not valid UTF-8');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new SluiceError(`malformed JSON${describeJsonError(text, error)}`);
    }
    try {
      return parse(json);
    } catch (error) {
      throw new SluiceError(`invalid record: ${describeValidationError(error)}`);
    }
  };
}

/**
 * A validation error as one line. Zod errors (anything with an `issues` list of `{ path,
 * message }`) become `field: problem` pairs joined by `; `, a missing field reading `required`;
 * other errors keep their message with line breaks folded.
 *
 * @example
 * describeValidationError(schema.safeParse({ amount: '1' }).error) // "amount: expected number, received string; timestamp: required"
 */
export function describeValidationError(error: unknown): string {
  const issues = issuesOf(error);
  if (issues === undefined) return oneLine(describeError(error));
  if (issues.length === 0) return 'the record does not match the schema';
  const shown = issues.slice(0, MAX_ISSUES).map(describeIssue);
  if (issues.length > MAX_ISSUES) shown.push(`and ${issues.length - MAX_ISSUES} more`);
  return shown.join('; ');
}

/**
 * What is wrong with text that `JSON.parse` refused, as ` at byte N: problem` (N counts UTF-8
 * bytes from 0) or `: unexpected end of input`. V8's own message is not used as is: for an
 * unexpected token it quotes the whole input.
 *
 * @example
 * describeJsonError('{"a": x}', error) // " at byte 6: unexpected character"
 */
export function describeJsonError(text: string, error: unknown): string {
  const message = describeError(error);
  if (/^Unexpected end of JSON input/.test(message)) return ': unexpected end of input';
  const positioned = /^(.*?) in JSON at position (\d+)/.exec(message);
  if (positioned !== null) {
    const at = Number(positioned[2]);
    return at >= text.length ? ': unexpected end of input' : ` at byte ${byteOffset(text, at)}: ${lowerFirst(positioned[1]!)}`;
  }
  const at = firstBadCharacter(text);
  return at === undefined ? ': not valid JSON' : ` at byte ${byteOffset(text, at)}: unexpected character`;
}

interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly code?: string;
}

function issuesOf(error: unknown): readonly Issue[] | undefined {
  if (typeof error !== 'object' || error === null || !('issues' in error) || !Array.isArray(error.issues)) return undefined;
  const issues = error.issues as unknown[];
  const valid = issues.every((issue) => typeof issue === 'object' && issue !== null && 'message' in issue && typeof issue.message === 'string' && 'path' in issue && Array.isArray(issue.path));
  return valid ? (issues as Issue[]) : undefined;
}

function describeIssue(issue: Issue): string {
  const field = issue.path.length === 0 ? '(record)' : issue.path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
  let problem = oneLine(issue.message).replace(/^Invalid (input|option): /, '');
  if (issue.code === 'invalid_type' && / received undefined$/.test(problem)) problem = 'required';
  return `${field}: ${lowerFirst(problem)}`;
}

/**
 * Where the first character that cannot continue valid JSON is (a UTF-16 index), for V8 messages
 * that do not say. A prefix of the text that holds no error yet either parses or fails only at its
 * end; the shortest prefix that fails earlier ends with the bad character. Binary search: log2(n)
 * parses, only on the dead-letter path.
 */
function firstBadCharacter(text: string): number | undefined {
  const failsBeforeEnd = (length: number): boolean => {
    const prefix = text.slice(0, length);
    try {
      JSON.parse(prefix);
      return false;
    } catch (error) {
      const message = describeError(error);
      if (/^Unexpected end of JSON input/.test(message)) return false;
      const positioned = /in JSON at position (\d+)/.exec(message);
      return positioned === null || Number(positioned[1]) < length;
    }
  };
  if (!failsBeforeEnd(text.length)) return undefined;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (failsBeforeEnd(mid)) high = mid;
    else low = mid + 1;
  }
  return low - 1;
}

function byteOffset(text: string, index: number): number {
  return Buffer.byteLength(text.slice(0, index), 'utf8');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function lowerFirst(text: string): string {
  return text.length > 1 && /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}
