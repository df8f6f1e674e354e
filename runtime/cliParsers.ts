import { InvalidArgumentError } from 'commander';

// The flags' argument parsers: each refuses a bad value with one message that says what is wanted.

/**
 * A broker list as given (`host:port,host:port`), without blanks.
 *
 * @example
 * splitBrokers('a:9092, b:9092,'); // ['a:9092', 'b:9092']
 */
export function splitBrokers(list: string): string[] {
  return list.split(',').map((b) => b.trim()).filter((b) => b !== '');
}

/**
 * Parses a flag that must be a positive integer.
 *
 * @example
 * new Option('--workers <n>').argParser(positiveInteger)
 */
export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer.');
  return parsed;
}

/**
 * Parses a flag that must be a number of at least 0.
 *
 * @example
 * new Option('--rate <n>').argParser(nonNegativeNumber)
 */
export function nonNegativeNumber(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('must be a number of at least 0.');
  return parsed;
}

/**
 * Parses a share from 0 up to (not including) 1.
 *
 * @example
 * new Option('--garbage-ratio <r>').argParser(ratio)
 */
export function ratio(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed >= 1) throw new InvalidArgumentError('must be a number from 0 up to (not including) 1.');
  return parsed;
}

/** A sampling share from 0 to 1 (`--trace-sample`). */
export function sampleRatio(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0 || parsed > 1) throw new InvalidArgumentError('must be a number from 0 to 1, e.g. 0.01 to trace 1 % of records.');
  return parsed;
}

/** An http(s) URL (`--jaeger-url`). */
export function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be an http(s) URL, e.g. http://127.0.0.1:16686.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('must be an http(s) URL, e.g. http://127.0.0.1:16686.');
  return value;
}

/**
 * Parses a TCP port, 0 for a free one.
 *
 * @example
 * new Option('--metrics-port <port>').argParser(portNumber)
 */
export function portNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535 (0 picks a free one).');
  return parsed;
}

/**
 * Collects a repeatable `name=value` flag into a record.
 *
 * @example
 * new Option('-s, --set <name=value>').argParser(collectPair('--set')).default({})
 */
export function collectPair(flag: string): (value: string, previous: Record<string, string>) => Record<string, string> {
  return (value, previous) => {
    const split = value.indexOf('=');
    if (split <= 0) throw new InvalidArgumentError(`must look like name=value (${flag} name=value).`);
    return { ...previous, [value.slice(0, split)]: value.slice(split + 1) };
  };
}
