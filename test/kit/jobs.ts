/**
 * Test kit for running jobs in-process: a real inference pool, in-memory sources and collecting
 * sinks. Engine, operator and job tests use these; job tests that need no engine detail use
 * `testDriver` from sluice/testing instead.
 */
import { TestClock } from '../../core/clock.ts';
import type { Job } from '../../core/defineJob.ts';
import { runJob, type EngineOptions, type JobStats, type RunningJob } from '../../core/engine/engine.ts';
import type { InferenceService } from '../../core/inference.ts';
import type { DeadLetter, Sink, Source } from '../../core/job.ts';
import { resolveSettings } from '../../core/settings.ts';
import { collectSink, type CollectSink } from '../../connectors/collectSink.ts';
import { InferencePool } from '../../runtime/inferencePool.ts';

export { TestClock };

export interface StartedTestJob {
  running: RunningJob;
  deadLetters: CollectSink<DeadLetter>;
  /** The collecting sink of each output that was not given a sink of its own. */
  outputs: Record<string, CollectSink<unknown>>;
}

export interface TestJobOptions {
  /** One source per input of the job. */
  sources: Record<string, Source<unknown>>;
  /** Sinks for some outputs; the others collect in memory. */
  sinks?: Record<string, Sink<unknown>>;
  inference?: InferenceService;
  maxInFlight?: number;
  /** `--set`-style texts for the job's settings. */
  settings?: Record<string, string>;
  deadLetterDelayMs?: number;
  engine?: Partial<EngineOptions>;
}

/**
 * Starts a job in this process with collecting sinks.
 *
 * @example
 * const { running, outputs } = startTestJob(job, { sources: { numbers: generatorSource({ count: 10, make: (i) => i }) } });
 * await running.done;
 */
export function startTestJob(job: Job, options: TestJobOptions): StartedTestJob {
  const deadLetters = collectSink<DeadLetter>(options.deadLetterDelayMs === undefined ? {} : { delayMs: options.deadLetterDelayMs });
  const outputs: Record<string, CollectSink<unknown>> = {};
  const sinks: Record<string, Sink<unknown>> = {};
  for (const name of Object.keys(job.outputs)) {
    const given = options.sinks?.[name];
    if (given !== undefined) sinks[name] = given;
    else sinks[name] = outputs[name] = collectSink();
  }
  const running = runJob(job, {
    sources: options.sources,
    sinks,
    deadLetterSink: deadLetters,
    settings: resolveSettings(job.settings, options.settings ?? {}),
    maxInFlight: options.maxInFlight ?? 1000,
    ...(options.inference === undefined ? {} : { inference: options.inference }),
    drainTimeoutMs: 30_000,
    ...options.engine,
  });
  return { running, deadLetters, outputs };
}

/** Runs a job to the end and returns its stats, outputs and dead letters. */
export async function runTestJob(job: Job, options: TestJobOptions): Promise<{ stats: JobStats; deadLetters: DeadLetter[]; outputs: Record<string, CollectSink<unknown>> }> {
  const { running, deadLetters, outputs } = startTestJob(job, options);
  const stats = await running.done;
  return { stats, deadLetters: deadLetters.values, outputs };
}

/** A real worker pool for a test file; close it in `after`. */
export function testPool(workers = 2): InferencePool {
  return new InferencePool({ workers });
}

/** The committed fraud model and the broken models the failure tests use. */
export const models = {
  fraud: new URL('../../models/fraud-v1.onnx', import.meta.url).pathname,
  wrongWidth: new URL('../fixtures/models/wrong-width.onnx', import.meta.url).pathname,
  slow: new URL('../fixtures/models/slow.onnx', import.meta.url).pathname,
};
