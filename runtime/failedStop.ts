import type { RunningJob } from '../core/engine/engine.ts';
import { oneLine } from './runCommand.ts';

/** How long a run that failed may take to stop before the process gives up on a clean stop. */
export const FAILED_STOP_TIMEOUT_MS = 30_000;

/**
 * Bounds the stop of a run that has failed, as Flink's `task.cancellation.timeout` does: when
 * `done` has not settled `ms` after the failure, `onStuck` runs. Returns a function that cancels
 * the bound.
 *
 * @example
 * stopWithin(running.done, FAILED_STOP_TIMEOUT_MS, () => process.exit(1));
 */
export function stopWithin(done: Promise<unknown>, ms: number, onStuck: () => void): () => void {
  const timer = setTimeout(onStuck, ms);
  // Nothing else should keep the process alive for the bound's sake.
  timer.unref();
  const cancel = () => clearTimeout(timer);
  done.then(cancel, cancel);
  return cancel;
}

/**
 * Once `running` fails (an operator, a sink, an exactly-once commit), its stop may take at most
 * `timeoutMs`; past that it says the failure in one line and exits 1. A failed run keeps nothing
 * worth a clean stop — it commits nothing more, and a restart resumes from the last commit,
 * fencing what is still open — but a send or fetch stuck on a broker that went away can hold the
 * stop for minutes, and a supervisor restarts only a process that ended. In a stream thread the
 * exit ends the thread, which its supervisor restarts.
 *
 * @example
 * boundFailedStop(running, (line) => process.stderr.write(`sluice: ${line}\n`));
 */
export function boundFailedStop(running: RunningJob, say: (line: string) => void, timeoutMs = FAILED_STOP_TIMEOUT_MS): void {
  void running.failed.then((error) =>
    stopWithin(running.done, timeoutMs, () => {
      const step = running.stopStep();
      say(`${oneLine(error)} — the job did not stop within ${timeoutMs / 1000} s of it${step === undefined ? '' : ` (stuck ${step})`}; exiting without a clean stop`);
      process.exit(1);
    }),
  );
}
