import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { workerExecArgv } from '../../runtime/workerExecArgv.ts';

describe('workerExecArgv', () => {
  it("keeps the loader's flags with their values and leaves out what a worker refuses", () => {
    const argv = ['--max-old-space-size=8192', '--import', 'tsx', '--stack-size=900', '--title=job', '--enable-source-maps', '--max-semi-space-size', '32'];
    assert.deepEqual(workerExecArgv(argv), ['--import', 'tsx', '--enable-source-maps']);
  });

  it('keeps a flag it does not know when a worker accepts it', () => {
    assert.deepEqual(workerExecArgv(['--max-http-header-size=20000', '--trace-uncaught']), ['--max-http-header-size=20000', '--trace-uncaught']);
  });

  it('gives a list that a worker starts with', async () => {
    const execArgv = workerExecArgv(['--max-old-space-size=8192', '--no-warnings', '--perf-basic-prof']);
    const worker = new Worker("require('node:worker_threads').parentPort.postMessage('up')", { eval: true, execArgv });
    const message = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    assert.equal(message, 'up');
    await worker.terminate();
  });
});
