#!/usr/bin/env node
// Runs the TypeScript CLI under tsx's loader, so job files (.ts) load with no build step. The
// loader goes on the node command line (not registered in-process) so that worker threads,
// which inherit execArgv, can load the TypeScript inference worker too.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const tsx = pathToFileURL(require.resolve('tsx')).href;
const cli = fileURLToPath(new URL('../runtime/cli.ts', import.meta.url));
const child = spawn(process.execPath, ['--import', tsx, cli, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 143)));
