import { InvalidOptionError } from './errors.ts';

/** One declared job setting: its type, default and help, and how text on the command line becomes its value. */
export interface Setting<T> {
  readonly kind: 'number' | 'integer' | 'string' | 'boolean' | 'choice';
  readonly defaultValue: T;
  readonly help: string;
  /** What `--help` shows as the type, e.g. `number ≥ 0` or `embedded|enricher`. */
  readonly describe: string;
  /** Parses `--set name=text`; returns the value or why the text is not one. */
  parse(text: string): { value: T } | { problem: string };
}

/** The declared settings of a job, by name. */
export type SettingsSpec = Readonly<Record<string, Setting<unknown>>>;

/** The values a pipeline sees: each declared setting with its type. */
export type SettingValues<S extends SettingsSpec> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

interface NumberBounds {
  readonly min?: number;
  readonly max?: number;
}

function numeric(kind: 'number' | 'integer', defaultValue: number, help: string, bounds: NumberBounds): Setting<number> {
  const range = [bounds.min === undefined ? '' : `≥ ${bounds.min}`, bounds.max === undefined ? '' : `≤ ${bounds.max}`].filter((s) => s !== '').join(', ');
  return {
    kind,
    defaultValue,
    help,
    describe: range === '' ? kind : `${kind} ${range}`,
    parse(text) {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) return { problem: `expected a ${kind}` };
      if (kind === 'integer' && !Number.isInteger(value)) return { problem: 'expected an integer' };
      if (bounds.min !== undefined && value < bounds.min) return { problem: `must be at least ${bounds.min}` };
      if (bounds.max !== undefined && value > bounds.max) return { problem: `must be at most ${bounds.max}` };
      return { value };
    },
  };
}

/**
 * Declares a job's settings: `--set name=value` on the command line, listed by `sluice run job.ts
 * --help`. An unknown name or a value of the wrong type stops the run with one line.
 *
 * @example
 * settings: {
 *   threshold: setting.number(0.7, 'score at or above which a transaction is flagged', { min: 0, max: 1 }),
 *   serving: setting.choice(['embedded', 'enricher'], 'embedded', 'where the model runs'),
 * }
 */
export const setting = {
  number: (defaultValue: number, help: string, bounds: NumberBounds = {}): Setting<number> => numeric('number', defaultValue, help, bounds),
  integer: (defaultValue: number, help: string, bounds: NumberBounds = {}): Setting<number> => numeric('integer', defaultValue, help, bounds),
  string: (defaultValue: string, help: string): Setting<string> => ({
    kind: 'string',
    defaultValue,
    help,
    describe: 'text',
    parse: (text) => ({ value: text }),
  }),
  /** An optional text (a file path, a URL): undefined unless set. */
  optionalString: (help: string): Setting<string | undefined> => ({
    kind: 'string',
    defaultValue: undefined,
    help,
    describe: 'text',
    parse: (text) => ({ value: text }),
  }),
  boolean: (defaultValue: boolean, help: string): Setting<boolean> => ({
    kind: 'boolean',
    defaultValue,
    help,
    describe: 'true|false',
    parse: (text) => (text === 'true' ? { value: true } : text === 'false' ? { value: false } : { problem: 'expected true or false' }),
  }),
  choice: <const C extends string>(choices: readonly C[], defaultValue: NoInfer<C>, help: string): Setting<C> => ({
    kind: 'choice',
    defaultValue,
    help,
    describe: choices.join('|'),
    parse: (text) => ((choices as readonly string[]).includes(text) ? { value: text as C } : { problem: `expected one of ${choices.join(', ')}` }),
  }),
};

/**
 * The values of a job's settings from `--set` texts: the defaults, overridden by what was given.
 * Unknown names (with the closest known one) and ill-typed values are one InvalidOptionError.
 *
 * @example
 * resolveSettings({ threshold: setting.number(0.7, 'flag at') }, { threshold: '0.9' }) // { threshold: 0.9 }
 */
export function resolveSettings<S extends SettingsSpec>(spec: S, given: Readonly<Record<string, string>>): SettingValues<S> {
  const values: Record<string, unknown> = {};
  for (const [name, declared] of Object.entries(spec)) values[name] = declared.defaultValue;
  const problems: string[] = [];
  for (const [name, text] of Object.entries(given)) {
    const declared = spec[name];
    if (declared === undefined) {
      const known = Object.keys(spec);
      const near = closest(name, known);
      problems.push(
        `--set ${name}: this job has no setting "${name}"${near === undefined ? '' : ` — did you mean "${near}"?`} (settings: ${known.length === 0 ? 'none' : known.join(', ')})`,
      );
      continue;
    }
    const parsed = declared.parse(text);
    if ('problem' in parsed) problems.push(`--set ${name}=${text}: ${parsed.problem}`);
    else values[name] = parsed.value;
  }
  if (problems.length > 0) throw new InvalidOptionError(problems.join('; '));
  return values as SettingValues<S>;
}

/** Lines for `--help`: one per setting, with its type and default. */
export function describeSettings(spec: SettingsSpec): string[] {
  return Object.entries(spec).map(([name, s]) => `  --set ${name}=<${s.describe}>`.padEnd(44) + ` ${s.help} (default: ${s.defaultValue === undefined ? 'unset' : String(s.defaultValue)})`);
}

/** The known name nearest to a misspelled one (edit distance ≤ 2), if any. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
