import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeError, JobDefinitionError } from '../core/errors.ts';
import { isJob, type Job } from '../core/defineJob.ts';
import { typecheckBeforeRun } from './typecheck.ts';

/**
 * Loads a job file (TypeScript or JavaScript) and returns the job it exports as default (or as
 * `job`). Every way this can go wrong ends in one JobDefinitionError that says what to do.
 *
 * @example
 * const job = await loadJob('jobs/fraud-detection.ts');
 */
export async function loadJob(path: string): Promise<Job> {
  const absolute = resolve(path);
  await requireJobFile(path);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof JobDefinitionError) throw error;
    throw new JobDefinitionError(`job file ${path} could not be loaded: ${firstLine(describeError(error))} — fix the file and run again`, { cause: error });
  }
  const candidate = module.default ?? module.job;
  if (!isJob(candidate)) {
    const exported = Object.keys(module).join(', ') || 'nothing';
    throw new JobDefinitionError(`job file ${path} does not export a job (it exports: ${exported}) — add \`export default defineJob({ name, inputs, outputs, pipeline })\``);
  }
  return candidate;
}

/**
 * The job `sluice run` starts, on one thread or many: the file must exist, type-check (unless
 * `typecheck` is off) and load. Undefined when it must not start: the type errors were printed.
 *
 * @example
 * const job = await loadJobToRun('jobs/fraud-detection.ts', true, (text) => process.stderr.write(text));
 * if (job === undefined) return 1;
 */
export async function loadJobToRun(path: string, typecheck: boolean, err: (text: string) => void): Promise<Job | undefined> {
  // A missing file is said before a type check would report it as something else.
  await requireJobFile(path);
  if (typecheck && !typecheckBeforeRun(path, err)) return undefined;
  return loadJob(path);
}

/** A missing job file as one line that says what to pass. */
export async function requireJobFile(path: string): Promise<void> {
  try {
    await access(resolve(path));
  } catch {
    throw new JobDefinitionError(`job file not found: ${path} — pass the path of a .ts file that exports a job, e.g. \`sluice run jobs/fraud-detection.ts\``);
  }
}

function firstLine(message: string): string {
  return message.split('\n').slice(0, 3).join(' ').trim();
}
