import { Worker } from 'node:worker_threads';

/**
 * Node's flags of this process that a worker thread accepts, for `execArgv` of the stream threads
 * and the inference workers (they need tsx's `--import`, which they do not inherit on their own).
 *
 * A worker refuses V8's flags (`--max-old-space-size`, `--max-semi-space-size`, `--stack-size`,
 * `--perf-basic-prof`) and the process's own (`--title`) with ERR_WORKER_INVALID_EXEC_ARGV, so a
 * job started as `node --max-old-space-size=8192 --import tsx runtime/cli.ts run …` failed at its
 * first worker. Those flags already hold for the whole process (V8's flags are process-wide), so
 * leaving them out of the workers' list loses nothing.
 *
 * Flags every worker accepts are kept as they are; any other is tried once, alone, on a worker
 * that is stopped at once (a refused flag throws before the thread starts). The answer is kept.
 *
 * @example
 * new Worker(file, { execArgv: workerExecArgv() });
 * workerExecArgv(['--max-old-space-size=8192', '--import', 'tsx']) // ['--import', 'tsx']
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (const flag of flagsOf(execArgv)) if (acceptedByWorkers(flag)) kept.push(...flag);
  return kept;
}

/** Flags that load code or shape diagnostics: accepted by every worker, so not tried. */
const KNOWN_GOOD = /^(--import|--require|-r|--loader|--experimental-loader|--conditions|-C|--enable-source-maps|--no-warnings|--no-deprecation|--cpu-prof|--heap-prof|--inspect|--experimental-)/;

const verdicts = new Map<string, boolean>();

function acceptedByWorkers(flag: readonly string[]): boolean {
  if (KNOWN_GOOD.test(flag[0]!)) return true;
  const key = flag.join('\0');
  let accepted = verdicts.get(key);
  if (accepted === undefined) {
    accepted = tryOnWorker(flag);
    verdicts.set(key, accepted);
  }
  return accepted;
}

function tryOnWorker(flag: readonly string[]): boolean {
  try {
    // An empty script: a flag the worker accepts costs one short-lived thread, once per process.
    const probe = new Worker('', { eval: true, execArgv: [...flag], stdout: true, stderr: true });
    void probe.terminate();
    return true;
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ERR_WORKER_INVALID_EXEC_ARGV') return false;
    throw error;
  }
}

/** execArgv as flags: each one with the values that follow it (`--import tsx`). */
function flagsOf(execArgv: readonly string[]): string[][] {
  const flags: string[][] = [];
  for (const arg of execArgv) {
    if (arg.startsWith('-') || flags.length === 0) flags.push([arg]);
    else flags.at(-1)!.push(arg);
  }
  return flags;
}
