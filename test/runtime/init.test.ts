import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const sluiceBin = fileURLToPath(new URL('../../bin/sluice.mjs', import.meta.url));

/** Runs a command to its end; resolves with its exit code and output. */
function run(command: string, args: string[], cwd: string, timeoutMs = 240_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // Without NODE_TEST_CONTEXT: the project's own `node --test` must run its tests, not defer to this runner.
    const { NODE_TEST_CONTEXT: _parent, ...env } = process.env;
    const child = spawn(command, args, { cwd, env: { ...env, npm_config_fund: 'false', npm_config_audit: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} took over ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('sluice init', () => {
  const parent = mkdtempSync(join(tmpdir(), 'sluice-init-'));
  after(() => rmSync(parent, { recursive: true, force: true }));

  it('makes a project outside the repository whose example job runs and whose test passes', async () => {
    const project = join(parent, 'my-jobs');
    const init = await run(process.execPath, [sluiceBin, 'init', project], parent);
    assert.equal(init.code, 0, init.out);
    for (const file of ['package.json', 'tsconfig.json', 'jobs/example.ts', 'test/example.test.ts']) assert.ok(existsSync(join(project, file)), file);
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.match(manifest.dependencies.sluice!, /^file:\//, 'a checkout is depended on by path (a registry install by version)');

    // --prefer-offline: tsx, typescript and zod come from npm's cache when this machine has them.
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project);
    assert.equal(install.code, 0, install.out);

    const job = await run('npx', ['sluice', 'run', 'jobs/example.ts', '--no-progress', '--set', 'count=5000'], project);
    assert.equal(job.code, 0, job.out);
    assert.match(job.out, /events\s+5,000 in/);
    const alerts = readFileSync(join(project, 'out/big-spenders.jsonl'), 'utf8').trim().split('\n');
    assert.ok(alerts.length > 0, 'the example job reported big spenders');

    const check = await run('npx', ['sluice', 'check', 'jobs/example.ts'], project);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /job big-spenders is fine: inputs payments → keyBy → spent → filter → map → outputs alerts/);

    const test = await run('npm', ['test'], project);
    assert.equal(test.code, 0, test.out);
    assert.match(test.out, /# pass 2\n# fail 0/);
  });

  it('refuses a directory that is not empty', async () => {
    const init = await run(process.execPath, [sluiceBin, 'init', parent], parent);
    assert.equal(init.code, 1);
    assert.match(init.out, /exists and is not empty: choose a new directory/);
  });
});
