import { isObservable } from 'rxjs';
import { JobDefinitionError } from './errors.ts';
import type { SettingsSpec, SettingValues } from './settings.ts';
import type { Generator, InputsSpec, InputValue, OutputsSpec, OutputValue, Stream } from './streams.ts';

/** The streams a pipeline receives: one per declared input. */
export type InputStreams<I extends InputsSpec> = { readonly [K in keyof I]: Stream<InputValue<I[K]>> };

/** What a pipeline returns: one stream per declared output (or the stream itself when there is one output). */
export type PipelineResult<O extends OutputsSpec> = { readonly [K in keyof O]: Stream<OutputValue<O[K]>> } | Stream<OutputValue<O[keyof O]>>;

/** What a pipeline may read besides its inputs. */
export interface PipelineContext<S extends SettingsSpec> {
  readonly name: string;
  readonly settings: SettingValues<S>;
}

/** A job as its author writes it. */
export interface JobSpec<S extends SettingsSpec, I extends InputsSpec, O extends OutputsSpec> {
  /** Names the job: consumer group, checkpoint and dead-letter defaults, traces. */
  readonly name: string;
  readonly description?: string;
  /** `--set name=value` options, with types, defaults and help. */
  readonly settings?: S;
  readonly inputs: I;
  readonly outputs: O;
  /** The operator graph from the inputs to the outputs. */
  readonly pipeline: (inputs: InputStreams<I>, job: PipelineContext<S>) => PipelineResult<O>;
  /** Sample records for inputs when the job runs without Kafka or an input file (`npm start`). */
  readonly generate?: (settings: SettingValues<S>) => { readonly [K in keyof I]?: Generator<InputValue<I[K]>> };
  /** The dead-letter topic on Kafka; `<name>-dead-letters` by default. */
  readonly deadLetters?: string;
  /** Counts output values in the summary (e.g. "flagged"). */
  readonly countAs?: { readonly label: string; readonly test: (value: OutputValue<O[keyof O]>) => boolean };
}

/**
 * A checked job, ready for the runtime: the author's declarations (typed, for the test driver)
 * and a face the engine can drive without knowing the record types.
 */
export interface Job<S extends SettingsSpec = SettingsSpec, I extends InputsSpec = InputsSpec, O extends OutputsSpec = OutputsSpec> {
  readonly kind: 'sluice-job';
  readonly name: string;
  readonly description: string | undefined;
  readonly settings: S;
  readonly inputs: I;
  readonly outputs: O;
  readonly deadLetterTopic: string;
  readonly countAs: { readonly label: string; readonly test: (value: unknown) => boolean } | undefined;
  /** Builds the operator graph; returns one stream per output name. */
  build(inputs: Readonly<Record<string, Stream<unknown>>>, settings: Readonly<Record<string, unknown>>): Record<string, Stream<unknown>>;
  generators(settings: Readonly<Record<string, unknown>>): Readonly<Record<string, Generator<unknown> | undefined>>;
}

const NAME = /^[A-Za-z0-9._-]+$/;

/**
 * Declares a job: its settings, the inputs it reads, the outputs it writes and the operator
 * graph between them. Where the records come from and go (Kafka, files, a generator) is chosen
 * when the job runs, not here. Checks the shape now, so a wrong job file fails with one line.
 *
 * @example
 * export default defineJob({
 *   name: 'big-spenders',
 *   settings: { limit: setting.number(1000, 'amount above which a payment is reported') },
 *   inputs: { payments: input('payments', paymentSchema, { key: (p) => p.user }) },
 *   outputs: { reports: output<Payment>('big-payments') },
 *   pipeline: ({ payments }, { settings }) => payments.pipe(filter((p) => p.amount > settings.limit)),
 * });
 */
export function defineJob<const S extends SettingsSpec = {}, const I extends InputsSpec = InputsSpec, const O extends OutputsSpec = OutputsSpec>(spec: JobSpec<S, I, O>): Job<S, I, O> {
  if (typeof spec !== 'object' || spec === null) throw new JobDefinitionError('defineJob() needs an object with name, inputs, outputs and pipeline');
  const problems: string[] = [];
  if (typeof spec.name !== 'string' || !NAME.test(spec.name)) problems.push('`name` must be a non-empty string of letters, digits, ".", "_" or "-"');
  if (typeof spec.pipeline !== 'function') problems.push(`\`pipeline\` must be a function (got ${typeof spec.pipeline})`);
  for (const [field, kind] of [['inputs', 'input'], ['outputs', 'output']] as const) {
    const declared: unknown = spec[field];
    if (typeof declared !== 'object' || declared === null || Object.keys(declared).length === 0) {
      problems.push(`\`${field}\` must name at least one ${kind}, e.g. { ${kind === 'input' ? "transactions: input('transactions', schema)" : "decisions: output('decisions')"} }`);
      continue;
    }
    for (const [name, value] of Object.entries(declared)) {
      if ((value as { kind?: unknown })?.kind !== kind) problems.push(`\`${field}.${name}\` must be made with ${kind}(...)`);
    }
  }
  if ('source' in spec || 'sink' in spec) problems.push('`source`/`sink` are gone: declare `inputs` and `outputs` (see docs/jobs.md)');
  if (spec.generate !== undefined && typeof spec.generate !== 'function') problems.push('`generate` must be a function of the settings');
  if (problems.length > 0) throw new JobDefinitionError(`invalid job definition: ${problems.join('; ')}`);

  const outputNames = Object.keys(spec.outputs);
  return {
    kind: 'sluice-job',
    name: spec.name,
    description: spec.description,
    settings: spec.settings ?? ({} as S),
    inputs: spec.inputs,
    outputs: spec.outputs,
    deadLetterTopic: spec.deadLetters ?? `${spec.name}-dead-letters`,
    countAs: spec.countAs as Job['countAs'],
    build(inputs, settings) {
      const result: unknown = spec.pipeline(inputs as InputStreams<I>, { name: spec.name, settings: settings as SettingValues<S> });
      if (isObservable(result)) {
        if (outputNames.length !== 1) throw new JobDefinitionError(`job ${spec.name}: pipeline returned one stream but the job declares ${outputNames.length} outputs (${outputNames.join(', ')}) — return { ${outputNames.join(', ')} }`);
        return { [outputNames[0]!]: result as Stream<unknown> };
      }
      if (typeof result !== 'object' || result === null) throw new JobDefinitionError(`job ${spec.name}: pipeline must return a stream or { ${outputNames.join(', ')} } (got ${String(result)})`);
      const streams = result as Record<string, unknown>;
      const bad = outputNames.filter((name) => !isObservable(streams[name]));
      const unknown = Object.keys(streams).filter((name) => !outputNames.includes(name));
      if (bad.length > 0 || unknown.length > 0) {
        throw new JobDefinitionError(
          `job ${spec.name}: pipeline must return a stream for each output (${outputNames.join(', ')})${bad.length > 0 ? `; missing: ${bad.join(', ')}` : ''}${unknown.length > 0 ? `; not declared: ${unknown.join(', ')}` : ''}`,
        );
      }
      return streams as Record<string, Stream<unknown>>;
    },
    generators(settings) {
      return (spec.generate?.(settings as SettingValues<S>) ?? {}) as Readonly<Record<string, Generator<unknown> | undefined>>;
    },
  };
}

/** Tells a job apart from anything else a job file might export. */
export function isJob(value: unknown): value is Job {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'sluice-job';
}
