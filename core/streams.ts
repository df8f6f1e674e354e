import type { Observable } from 'rxjs';
import { InvalidOptionError } from './errors.ts';
import type { Envelope } from './record.ts';

/** A stream of records inside a job: RxJS over envelopes (key, value, event time, position). */
export type Stream<T> = Observable<Envelope<T>>;

/** Anything that validates an unknown value into a T: a zod schema, or your own `{ parse }`. */
export interface Schema<T> {
  parse(value: unknown): T;
}

/** A logical input: what a job reads. The runtime binds it to a Kafka topic, a JSONL file or a generator. */
export interface InputSpec<T> {
  readonly kind: 'input';
  /** The Kafka topic by default (`--topic name=other` renames it). */
  readonly topic: string;
  /** Validates a decoded JSON value; a throw sends the record to the dead-letter sink with the message. */
  parse(value: unknown): T;
  /** The record key (scopes keyed state and per-key order); on Kafka the message key when absent. */
  key?(value: T): string;
  /** Event time of a value (ms since the epoch); the Kafka timestamp or the arrival time when absent. */
  time?(value: T): number;
}

/** A logical output: what a job writes. Bound to a Kafka topic, or a JSONL file when embedded. */
export interface OutputSpec<T> {
  readonly kind: 'output';
  readonly topic: string;
  /** The Kafka message key; the record's key when absent. */
  key?(value: T): string;
  /** Declares the value type; never called. */
  accepts?(value: T): void;
}

export type InputsSpec = Readonly<Record<string, InputSpec<unknown>>>;
export type OutputsSpec = Readonly<Record<string, OutputSpec<unknown>>>;
export type InputValue<I> = I extends InputSpec<infer T> ? T : never;
export type OutputValue<O> = O extends OutputSpec<infer T> ? T : never;

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

function requireTopic(what: string, topic: string): void {
  if (typeof topic !== 'string' || !TOPIC.test(topic)) throw new InvalidOptionError(`${what}: the topic must be 1–249 letters, digits, ".", "_" or "-" (got ${JSON.stringify(topic)})`);
}

/**
 * Declares an input of a job: the topic it reads, the schema of its JSON values, and how a value
 * gives its key and event time.
 *
 * @example
 * inputs: { transactions: input('transactions', transactionSchema, { key: (t) => t.userId, time: (t) => t.timestamp }) }
 */
export function input<T>(topic: string, schema: Schema<T>, options: { key?: (value: T) => string; time?: (value: T) => number } = {}): InputSpec<T> {
  requireTopic('input()', topic);
  if (typeof schema?.parse !== 'function') throw new InvalidOptionError(`input('${topic}'): the second argument must be a schema with a parse() method, e.g. a zod object`);
  const spec: InputSpec<T> = { kind: 'input', topic, parse: (value) => schema.parse(value) };
  if (options.key !== undefined) spec.key = options.key;
  if (options.time !== undefined) spec.time = options.time;
  return spec;
}

/**
 * Declares an output of a job: the topic it writes and, optionally, the message key of a value.
 *
 * @example
 * outputs: { decisions: output<FraudDecision>('fraud-decisions', { key: (d) => d.userId }) }
 */
export function output<T>(topic: string, options: { key?: (value: T) => string } = {}): OutputSpec<T> {
  requireTopic('output()', topic);
  const spec: OutputSpec<T> = { kind: 'output', topic };
  if (options.key !== undefined) spec.key = options.key;
  return spec;
}

/** Makes sample records for an input when the job runs without Kafka and without an input file. */
export interface Generator<T> {
  /** Records to make; Infinity runs until stopped. */
  readonly count: number;
  /** The i-th record. */
  readonly make: (index: number) => T;
  /** Records per second; as fast as the job takes them when absent. */
  readonly ratePerSecond?: number | undefined;
  /** Partitions to spread keys over, like a topic's (keyed state is scoped by partition). */
  readonly partitions?: number;
}
