/** Test kit for running `sluice` as a real child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const tsx = fileURLToPath(import.meta.resolve('tsx'));
const cli = fileURLToPath(new URL('../../runtime/cli.ts', import.meta.url));

export interface SluiceProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | NodeJS.Signals>;
  /** Resolves when stdout or stderr has printed text matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Starts `sluice <args>` as its own node process (the CLI itself, not the bin shim, so a
 * signal or `kill -9` hits the process that runs the job).
 *
 * @example
 * const run = startSluice(['run', 'jobs/fraud-detection.ts', '--no-progress']);
 * assert.equal(await run.exited, 0);
 */
export function startSluice(args: string[], env: NodeJS.ProcessEnv = {}): SluiceProcess {
  const child = spawn(process.execPath, ['--import', tsx, cli, ...args], { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const watchers: Array<() => void> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    watchers.forEach((check) => check());
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    watchers.forEach((check) => check());
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal!)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; stdout: ${out}\nstderr: ${err}`)), timeoutMs);
        const check = () => {
          if (pattern.test(out) || pattern.test(err)) {
            clearTimeout(timer);
            resolve();
          }
        };
        watchers.push(check);
        void exited.then(() => {
          check();
          clearTimeout(timer);
          if (!pattern.test(out) && !pattern.test(err)) reject(new Error(`process exited before printing ${pattern}; stdout: ${out}\nstderr: ${err}`));
        });
        check();
      }),
  };
}
