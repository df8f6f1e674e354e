import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { eventually } from '../../kit/eventually.ts';
import { featureRows, inferBody, MODEL_PATH } from './kit.ts';

const tsx = fileURLToPath(import.meta.resolve('tsx'));
const main = fileURLToPath(new URL('./fixtures/serveMain.ts', import.meta.url));

describe('sluice serve as a process', () => {
  it('stops gracefully on SIGTERM: exit code 0 and the port closed', async (t) => {
    const env = { ...process.env, OTEL_SDK_DISABLED: 'true' };
    const child = spawn(process.execPath, ['--import', tsx, main, MODEL_PATH, '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await eventually('the serving line', () => out.includes('\n') || child.exitCode !== null, { timeoutMs: 60_000, detail: () => err });
    const url = /at (http:\/\/127\.0\.0\.1:\d+) \(OIP v2\)/.exec(out)?.[1];
    assert.ok(url !== undefined, `${out}${err}`);
    const response = await fetch(`${url}/v2/models/fraud-v1/infer`, { method: 'POST', body: inferBody(featureRows(4), 4) });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.match(err, /stopping: answering the requests under way/);
    await assert.rejects(fetch(`${url}/v2/health/live`));
  });
});
