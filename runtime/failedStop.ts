import type { RunningJob } from '../core/engine/engine.ts';
import type { ExactlyOnceRun } from './exactlyOnce.ts';
import { oneLine } from './runCommand.ts';

/** How long a run that failed may take to stop before the process gives up on a clean stop. */
export const FAILED_STOP_TIMEOUT_MS = 30_000;

/**
 * Bounds the stop of a run that has failed, as Flink's `task.cancellation.timeout` does: when
 * `done` has not settled `ms` after the failure, `onStuck` runs (the CLI exits 1 there). A failed
 * exactly-once commit leaves nothing worth a clean stop — its outputs are aborted and a restart
 * resumes from the last commit, fencing what is still open — but a send or fetch stuck on a
 * broker that went away can hold the stop for minutes, and a supervisor restarts only a process
 * that ended. Returns a function that cancels the bound.
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
 * A transaction that could not commit lost its outputs: ends the run at once, without the drain
 * and final checkpoint of a graceful stop (a restart resumes from the last commit), and exits 1
 * if that stop hangs past {@link FAILED_STOP_TIMEOUT_MS}. In a stream thread the exit ends the
 * thread, which its supervisor restarts.
 *
 * @example
 * endOnCommitFailure(eos, running, (line) => process.stderr.write(`sluice: ${line}\n`));
 */
export function endOnCommitFailure(eos: ExactlyOnceRun | undefined, running: RunningJob, say: (line: string) => void, timeoutMs = FAILED_STOP_TIMEOUT_MS): void {
  eos?.onFailure(() => {
    running.fail(eos.failure);
    stopWithin(running.done, timeoutMs, () => {
      say(`${oneLine(eos.failure)} — the job did not stop within ${timeoutMs / 1000} s of it; exiting without a clean stop`);
      process.exit(1);
    });
  });
}
