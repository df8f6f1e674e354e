import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Scores one batch through the pool (onnxruntime in a worker thread) in a fresh process with its
 * own HOME; returns onnxruntime's telemetry traces: its per-process /tmp/mat-debug-<pid>.log and
 * its event store under HOME.
 */
function scoreOnce(env: NodeJS.ProcessEnv): { debugLog: boolean; eventStore: boolean } {
  const home = mkdtempSync(join(tmpdir(), 'sluice-ort-home-'));
  try {
    // A file, not -e: worker threads inherit the command line's flags.
    const script = join(home, 'score.mts');
    writeFileSync(script, `
      import { InferencePool } from ${JSON.stringify(join(repo, 'runtime/inferencePool.ts'))};
      const pool = new InferencePool({ workers: 1 });
      const model = pool.model('models/fraud-v1.onnx');
      await pool.ready();
      await model.run({ features: new Float32Array(10), rows: 1, columns: 10, timeoutMs: 5000 });
      await pool.close();
      console.log(process.pid);`);
    const pid = execFileSync(process.execPath, ['--import', 'tsx', script], { cwd: repo, env: { ...env, HOME: home }, encoding: 'utf8' }).trim();
    const debugLog = `/tmp/mat-debug-${pid}.log`;
    const found = { debugLog: existsSync(debugLog), eventStore: existsSync(join(home, '.cache/Microsoft/DeveloperTools/.onnxruntime')) };
    rmSync(debugLog, { force: true });
    return found;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * onnxruntime stays quiet by itself when one of these says it runs in CI (they are in its
 * library's strings): without them the test sees what a user's machine does, in CI too.
 */
const CI_VARIABLES = ['CI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CIRCLECI', 'TRAVIS', 'JENKINS_URL', 'CODEBUILD_BUILD_ID', 'BUILDKITE', 'TEAMCITY_VERSION', 'APPVEYOR', 'BITBUCKET_BUILD_NUMBER'];

describe("onnxruntime's telemetry", () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'ORT_DISABLE_TELEMETRY' && !CI_VARIABLES.includes(name)));

  it('is off in a process that scores through Sluice, with onnxruntime in a worker thread', () => {
    assert.deepEqual(scoreOnce(env), { debugLog: false, eventStore: false });
  });

  it('is off in a job run by the CLI on two stream threads, each with its own pool', () => {
    const home = mkdtempSync(join(tmpdir(), 'sluice-ort-home-'));
    try {
      execFileSync(process.execPath, ['bin/sluice.mjs', 'run', 'jobs/fraud-detection.ts', '--no-progress', '--no-typecheck', '--parallelism', '2', '--workers', '1', '--set', 'count=2000', '--output', 'decisions=none'], {
        cwd: repo, env: { ...env, HOME: home }, stdio: 'ignore',
      });
      assert.equal(existsSync(join(home, '.cache/Microsoft/DeveloperTools/.onnxruntime')), false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('stays on when the user says so (and this test can see it)', () => {
    assert.deepEqual(scoreOnce({ ...env, ORT_DISABLE_TELEMETRY: '0' }), { debugLog: true, eventStore: true });
  });
});
