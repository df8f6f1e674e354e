import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// The shipped alert rules must load in Prometheus and fire on synthetic series as their unit
// tests say. promtool comes from Debian's `prometheus` package; without it this test fails
// (it does not skip): alert rules nobody checked are worse than none.
const run = promisify(execFile);
const alerts = fileURLToPath(new URL('../../docs/alerts/', import.meta.url));
const INSTALL = "promtool not found: install Debian's prometheus package (`apt-get install prometheus`, the apt step of .ci/run) and rerun";

async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: alerts, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') assert.fail(INSTALL);
    return { code: typeof failure.code === 'number' ? failure.code : 1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

test('promtool check rules: docs/alerts/sluice-rules.yml is valid and has its 8 rules', async () => {
  const { code, output } = await promtool('check', 'rules', 'sluice-rules.yml');
  assert.equal(code, 0, output);
  assert.match(output, /SUCCESS: 8 rules found/);
});

test('promtool test rules: every alert fires on its synthetic series and stays quiet beside it', async () => {
  const { code, output } = await promtool('test', 'rules', 'sluice-rules.test.yml');
  assert.equal(code, 0, output);
  assert.match(output, /SUCCESS/);
});
