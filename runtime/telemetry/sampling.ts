import { InvalidOptionError } from '../../core/errors.ts';
import type { TraceCarrier } from '../../core/record.ts';
import { validTraceparent } from '../../core/traceContext.ts';

/**
 * Which records get a trace. Decided once per record, at the source, before anything is
 * allocated for it: an unsampled record costs a decrement and no span.
 */
export interface SamplingPolicy {
  /** The standard sampler name it was built from (`parentbased_traceidratio`, ...). */
  readonly name: string;
  /** Share of records without a sampled-or-not upstream decision that are traced (0..1). */
  readonly ratio: number;
  /** When a record carries a `traceparent`, follow its sampled flag instead of the ratio. */
  readonly parentBased: boolean;
}

/** Sampled records per record when nothing says otherwise: cheap enough to leave on. */
export const DEFAULT_SAMPLE_RATIO = 0.001;

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

/**
 * The policy from `--trace-sample` (which wins) or the standard `OTEL_TRACES_SAMPLER` and
 * `OTEL_TRACES_SAMPLER_ARG` variables. With neither, `parentbased_traceidratio` at
 * {@link DEFAULT_SAMPLE_RATIO} (the OpenTelemetry default, always_on, would trace every record).
 *
 * @example
 * samplingPolicy({ traceSample: 0.01 }) // { name: 'parentbased_traceidratio', ratio: 0.01, parentBased: true }
 */
export function samplingPolicy(options: { traceSample?: number | undefined; env?: NodeJS.ProcessEnv }): SamplingPolicy {
  const env = options.env ?? process.env;
  if (options.traceSample !== undefined) {
    const ratio = requireRatio('--trace-sample', options.traceSample);
    // 0 means off: not even upstream-sampled records are traced.
    return ratio === 0 ? { name: 'always_off', ratio: 0, parentBased: false } : { name: 'parentbased_traceidratio', ratio, parentBased: true };
  }
  const name = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase() || 'parentbased_traceidratio';
  if (!(SAMPLERS as readonly string[]).includes(name)) {
    throw new InvalidOptionError(`OTEL_TRACES_SAMPLER=${name} is not supported by Sluice — use one of ${SAMPLERS.join(', ')}`);
  }
  const parentBased = name.startsWith('parentbased_');
  if (name.endsWith('always_on')) return { name, ratio: 1, parentBased };
  if (name.endsWith('always_off')) return { name, ratio: 0, parentBased };
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  const ratio = arg === undefined || arg === '' ? DEFAULT_SAMPLE_RATIO : requireRatio('OTEL_TRACES_SAMPLER_ARG', Number(arg), arg);
  return { name, ratio, parentBased };
}

/** True when no record can ever be sampled under the policy. */
export function samplesNothing(policy: SamplingPolicy): boolean {
  return policy.ratio === 0 && !policy.parentBased;
}

/**
 * The per-record decision. Kept tiny: it runs for every record the source emits. Instead of a
 * random draw per record it draws the gap to the next sampled record from the geometric
 * distribution (the same law as a coin flip per record with probability `ratio`), so an
 * unsampled record costs a decrement and a comparison.
 *
 * @example
 * const sample = recordSampler({ name: 'traceidratio', ratio: 0.01, parentBased: false });
 * if (sample(record.trace)) startTrace(record);
 */
export function recordSampler(policy: SamplingPolicy, random: () => number = Math.random): (trace: TraceCarrier | undefined) => boolean {
  const { ratio, parentBased } = policy;
  // Records to let pass before the next sampled one: 1 means "this one".
  const gap = ratio >= 1 ? () => 1 : ratio <= 0 ? () => Infinity : () => 1 + Math.floor(Math.log(1 - random()) / Math.log1p(-ratio));
  let countdown = gap();
  const byRatio = (): boolean => {
    if (--countdown > 0) return false;
    countdown = gap();
    return true;
  };
  if (!parentBased) return byRatio;
  return (trace) => {
    if (trace !== undefined) {
      const sampled = parentSampled(trace.traceparent);
      if (sampled !== undefined) return sampled;
    }
    return byRatio();
  };
}

/**
 * The sampled flag of a W3C `traceparent` (`00-<trace>-<span>-<flags>`); undefined if it breaks
 * the W3C rules, so a malformed parent decides nothing and the ratio applies.
 *
 * @example
 * parentSampled('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') // true
 */
export function parentSampled(traceparent: string): boolean | undefined {
  if (!validTraceparent(traceparent)) return undefined;
  const flags = Number.parseInt(traceparent.slice(53, 55), 16);
  return Number.isNaN(flags) ? undefined : (flags & 1) === 1;
}

function requireRatio(name: string, value: number, text: string = String(value)): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidOptionError(`${name} must be a ratio between 0 and 1, e.g. 0.01 for 1 % of records (got ${text})`);
  }
  return value;
}
