/**
 * Test kit for running jobs in-process: a real inference pool, collecting sinks, an
 * environment with embedded connectors. Every engine/operator/job test uses these.
 */
import { TestClock, systemClock, type Clock } from '../../core/clock.ts';
import { runJob, type JobStats, type RunningJob } from '../../core/engine.ts';
import type { InferenceService } from '../../core/inference.ts';
import type { DeadLetter, JobDefinition, RunEnvironment } from '../../core/job.ts';
import { collectSink, type CollectSink } from '../../connectors/collectSink.ts';
import { InferencePool } from '../../runtime/inferencePool.ts';

export { TestClock };

/** An embedded-run environment with the given settings. */
export function testEnvironment(settings: Record<string, string> = {}, clock: Clock = systemClock, workers = 2): RunEnvironment {
  return { kafka: undefined, topics: {}, settings, workers, clock };
}

export interface StartedTestJob {
  running: RunningJob;
  deadLetters: CollectSink<DeadLetter>;
}

/**
 * Starts a job in this process with a collecting dead-letter sink.
 *
 * @example
 * const { running, deadLetters } = startTestJob(job, { inference: pool });
 * const stats = await running.done;
 */
export function startTestJob<In, Out>(
  job: JobDefinition<In, Out>,
  options: { inference: InferenceService; maxInFlight?: number; env?: RunEnvironment; deadLetterDelayMs?: number },
): StartedTestJob {
  const deadLetters = collectSink<DeadLetter>(options.deadLetterDelayMs === undefined ? {} : { delayMs: options.deadLetterDelayMs });
  const running = runJob(job, {
    env: options.env ?? testEnvironment(),
    maxInFlight: options.maxInFlight ?? 1000,
    inference: options.inference,
    deadLetterSink: deadLetters,
    drainTimeoutMs: 30_000,
  });
  return { running, deadLetters };
}

/** Runs a job to the end and returns its stats and dead letters. */
export async function runTestJob<In, Out>(
  job: JobDefinition<In, Out>,
  options: { inference: InferenceService; maxInFlight?: number; env?: RunEnvironment },
): Promise<{ stats: JobStats; deadLetters: DeadLetter[] }> {
  const { running, deadLetters } = startTestJob(job, options);
  const stats = await running.done;
  return { stats, deadLetters: deadLetters.values };
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
