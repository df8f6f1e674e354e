import { VirtualTimeScheduler } from 'rxjs';
import { collectSink, type CollectSink } from '../../connectors/collectSink.ts';
import type { Job } from '../../core/defineJob.ts';
import { runJob, type JobStats, type RunningJob } from '../../core/engine/engine.ts';
import { describeError, InvalidOptionError, SluiceError } from '../../core/errors.ts';
import type { DeadLetter, Source, SourceContext } from '../../core/job.ts';
import { partitionScope } from '../../core/partition.ts';
import type { SourceRecord } from '../../core/record.ts';
import { resolveSettings, type SettingsSpec, type SettingValues } from '../../core/settings.ts';
import type { MapStateDescriptor, ValueStateDescriptor } from '../../core/state/keyedState.ts';
import type { InputsSpec, InputValue, OutputsSpec, OutputValue } from '../../core/streams.ts';
import { LazyInference } from '../lazyInference.ts';
import { parseDuration } from '../../core/duration.ts';

/** Options of a test run. */
export interface TestDriverOptions<S extends SettingsSpec> {
  /** Settings by name, typed as the job declares them; the defaults for the rest. */
  readonly settings?: Partial<SettingValues<S>>;
  /** Where virtual processing time starts (ms since the epoch). Default 2026-01-01T00:00:00Z. */
  readonly startTime?: number;
  /** Inference worker threads, when the job has a model. Default 1. */
  readonly workers?: number;
  /** How long `read()` waits for records in flight before it says what is stuck. Default 10 s. */
  readonly settleTimeoutMs?: number;
}

/** A record as a test pipes it in: the value, and optionally its key and event time. */
export interface PipedRecord {
  readonly key?: string;
  /** Event time, ms since the epoch; the input's `time` or the virtual clock by default. */
  readonly timestamp?: number;
}

/** One input of the job under test. */
export interface TestInput<T> {
  /** Hands one value to the job (it runs when the test reads or advances time). */
  pipe(value: T, record?: PipedRecord): void;
  pipeAll(values: Iterable<T>): void;
}

/** One output of the job under test. */
export interface TestOutput<T> {
  /** The values written since the last read, once every record piped so far is done. */
  read(): Promise<T[]>;
  /** Like `read`, with each record's key and event time. */
  readRecords(): Promise<Array<{ key: string | undefined; value: T; timestamp: number }>>;
}

/** A job running on virtual time, with in-memory inputs and outputs (Kafka Streams' TopologyTestDriver). */
export interface TestDriver<I extends InputsSpec, O extends OutputsSpec> {
  readonly inputs: { readonly [K in keyof I]: TestInput<InputValue<I[K]>> };
  readonly outputs: { readonly [K in keyof O]: TestOutput<OutputValue<O[K]>> };
  /** Dead letters written since the last read. */
  readonly deadLetters: { read(): Promise<DeadLetter[]> };
  /** Moves virtual time on: batch waits, idle watermarks, state TTL and checkpoints see it pass. */
  advanceTime(duration: number | string): Promise<void>;
  /** Now, on the virtual clock (ms since the epoch). */
  now(): number;
  /** The keyed state of one key (of an input's partition 0, where the driver puts every record). */
  state<T>(descriptor: ValueStateDescriptor<T>, key: string): T | undefined;
  mapState<V>(descriptor: MapStateDescriptor<V>, key: string): Readonly<Record<string, V>> | undefined;
  /** Ends the inputs (a bounded input is complete: windows fire), drains, and returns the stats. */
  close(): Promise<JobStats>;
}

/**
 * Runs a job in the test's own process on virtual time: pipe values into its inputs, advance the
 * clock, read its outputs, dead letters and keyed state — no Kafka, no sleeps. The job's real
 * operators, state, models and dead-letter routing run as they do in production.
 *
 * @example
 * const driver = await testDriver(job, { settings: { threshold: 0.7 } });
 * driver.inputs.transactions.pipe({ userId: 'u1', amount: 20, ... });
 * assert.equal((await driver.outputs.decisions.read()).length, 1);
 * await driver.close();
 */
export async function testDriver<S extends SettingsSpec, I extends InputsSpec, O extends OutputsSpec>(job: Job<S, I, O>, options: TestDriverOptions<S> = {}): Promise<TestDriver<I, O>> {
  const startTime = options.startTime ?? Date.UTC(2026, 0, 1);
  const scheduler = new VirtualTimeScheduler();
  const clock = { now: () => startTime + scheduler.now() };
  const settings = { ...resolveSettings(job.settings, {}), ...checkedSettings(job.settings, options.settings ?? {}) };
  const sources = new Map<string, PushSource>();
  for (const [name, spec] of Object.entries(job.inputs)) sources.set(name, new PushSource(spec.topic, (value) => spec.parse(value), (value) => spec.key?.(value), (value) => spec.time?.(value), clock));
  const sinks = new Map<string, CollectSink<unknown>>();
  for (const name of Object.keys(job.outputs)) sinks.set(name, collectSink());
  const deadLetters = collectSink<DeadLetter>();
  const inference = new LazyInference({ workers: options.workers ?? 1 });
  const running = runJob(job, {
    sources: Object.fromEntries(sources),
    sinks: Object.fromEntries(sinks),
    deadLetterSink: deadLetters,
    settings,
    maxInFlight: 10_000,
    inference,
    scheduler,
    clock,
  });
  let failure: unknown;
  running.done.catch((error: unknown) => (failure = error));
  const settleTimeoutMs = options.settleTimeoutMs ?? 10_000;

  const runDue = () => {
    scheduler.maxFrames = scheduler.now();
    scheduler.flush();
  };
  const settle = async () => {
    const deadline = performance.now() + settleTimeoutMs;
    for (;;) {
      runDue();
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (failure !== undefined) throw failure;
      if ([...sources.values()].every((source) => source.idle) && running.stats().inFlight === 0) return;
      if (performance.now() > deadline) {
        throw new SluiceError(`testDriver: ${running.stats().inFlight} records still in flight after ${settleTimeoutMs} ms — an operator waits for time (call advanceTime) or never lets a record go`);
      }
    }
  };
  const taken = new Map<CollectSink<unknown>, number>();
  const takeNew = <T>(sink: CollectSink<T>) => {
    const from = taken.get(sink as CollectSink<unknown>) ?? 0;
    taken.set(sink as CollectSink<unknown>, sink.records.length);
    return sink.records.slice(from);
  };

  const inputs = Object.fromEntries(
    [...sources].map(([name, source]) => [name, { pipe: (value: unknown, record?: PipedRecord) => source.push(value, record), pipeAll: (values: Iterable<unknown>) => { for (const value of values) source.push(value); } }]),
  );
  const outputs = Object.fromEntries(
    [...sinks].map(([name, sink]) => [
      name,
      {
        read: async () => (await settle(), takeNew(sink).map((record) => record.value)),
        readRecords: async () => (await settle(), takeNew(sink).map((record) => ({ key: record.key, value: record.value, timestamp: record.timestamp }))),
      },
    ]),
  );
  return {
    inputs: inputs as TestDriver<I, O>['inputs'],
    outputs: outputs as TestDriver<I, O>['outputs'],
    deadLetters: { read: async () => (await settle(), takeNew(deadLetters).map((record) => record.value)) },
    advanceTime: async (duration) => {
      await settle();
      const target = scheduler.now() + (typeof duration === 'number' ? duration : parseDuration(duration));
      scheduler.maxFrames = target;
      scheduler.flush();
      scheduler.frame = target;
      await settle();
    },
    now: () => clock.now(),
    state: <T>(descriptor: ValueStateDescriptor<T>, key: string) => readState(running, sources, descriptor.name, key) as T | undefined,
    mapState: <V>(descriptor: MapStateDescriptor<V>, key: string) => {
      const entries = readState(running, sources, descriptor.name, key) as Record<string, { value: V }> | undefined;
      return entries === undefined ? undefined : Object.fromEntries(Object.entries(entries).map(([k, entry]) => [k, entry.value]));
    },
    close: async () => {
      await settle();
      for (const source of sources.values()) source.end();
      runDue();
      try {
        return await running.done;
      } finally {
        await inference.close();
      }
    },
  };
}

/** A state value of a key, looked up in each input's partition-0 scope. */
function readState(running: RunningJob, sources: Map<string, PushSource>, name: string, key: string): unknown {
  for (const source of sources.values()) {
    const entry = running.state.backend.get(partitionScope(source.topic, 0), name, key);
    if (entry !== undefined) return entry.value;
  }
  return undefined;
}

function checkedSettings<S extends SettingsSpec>(spec: S, given: Partial<SettingValues<S>>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(given)) {
    const declared = spec[name];
    if (declared === undefined) throw new InvalidOptionError(`testDriver: the job has no setting "${name}" (settings: ${Object.keys(spec).join(', ') || 'none'})`);
    const parsed = declared.parse(String(value));
    if ('problem' in parsed) throw new InvalidOptionError(`testDriver: setting ${name}=${String(value)}: ${parsed.problem}`);
    values[name] = parsed.value;
  }
  return values;
}

/** An in-memory input: what the test piped, handed to the engine in order, on partition 0. */
class PushSource implements Source<unknown> {
  readonly name: string;
  readonly topic: string;
  readonly #queue: SourceRecord<unknown>[] = [];
  readonly #parse: (value: unknown) => unknown;
  readonly #key: (value: unknown) => string | undefined;
  readonly #time: (value: unknown) => number | undefined;
  readonly #clock: { now(): number };
  #offset = 0;
  #ended = false;
  #busy = false;
  #wake: (() => void) | undefined;

  constructor(topic: string, parse: (value: unknown) => unknown, key: (value: unknown) => string | undefined, time: (value: unknown) => number | undefined, clock: { now(): number }) {
    this.name = `test:${topic}`;
    this.topic = topic;
    this.#parse = parse;
    this.#key = key;
    this.#time = time;
    this.#clock = clock;
  }

  /** Nothing waits to be handed over. */
  get idle(): boolean {
    return this.#queue.length === 0 && !this.#busy;
  }

  push(value: unknown, record: PipedRecord = {}): void {
    if (this.#ended) throw new SluiceError('testDriver: the job was closed; pipe records before close()');
    const key = record.key ?? safely(() => this.#key(value));
    const timestamp = record.timestamp ?? safely(() => this.#time(value)) ?? this.#clock.now();
    this.#queue.push({ key, value, timestamp, position: { topic: this.topic, partition: 0, offset: this.#offset++ } });
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async run(ctx: SourceContext<unknown>): Promise<void> {
    for (;;) {
      while (this.#queue.length > 0) {
        if (ctx.signal.aborted) return;
        this.#busy = true;
        const record = this.#queue.shift()!;
        let wait: Promise<void> | undefined;
        // Piped values pass the input's schema, as records read from Kafka or a file do.
        try {
          wait = ctx.emit({ ...record, value: this.#parse(record.value) });
        } catch (error) {
          wait = ctx.deadLetter(record, describeError(error));
        }
        if (wait !== undefined) await wait;
        this.#busy = false;
      }
      if (this.#ended || ctx.signal.aborted) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

/** A key or time read from a value that may not be valid (it then goes to the dead letters). */
function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
