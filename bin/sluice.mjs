#!/usr/bin/env node
// Runs the TypeScript CLI under tsx's loader, so job files (.ts) load with no build step. The
// loader goes on the node command line (not registered in-process) so that worker threads,
// which inherit execArgv, can load the TypeScript inference worker too. Flags that are about the
// Node process itself (--profile, --inspect) are given to that process, not to this launcher.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const tsx = pathToFileURL(require.resolve('tsx')).href;
const cli = fileURLToPath(new URL('../runtime/cli.ts', import.meta.url));
const args = process.argv.slice(2);
const nodeArgs = ['--import', tsx];
for (let i = 0; i < args.length; i += 1) {
  const [flag, inline] = args[i].split(/=(.*)/s);
  if (flag === '--profile') {
    const dir = inline ?? args[i + 1];
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  } else if (flag === '--inspect') {
    const next = args[i + 1];
    const address = inline ?? (next !== undefined && /^[\w.:[\]-]*\d$/.test(next) ? next : undefined);
    nodeArgs.push(address === undefined ? '--inspect' : `--inspect=${address}`);
  }
}
const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { stdio: 'inherit' });
// SIGHUP asks a running job to re-read its model pins (sluice model use).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 143)));
