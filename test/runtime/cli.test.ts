import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { spawnSluice } from '../kit/sluiceProcess.ts';

/** Parses the summary's "N in, N out, N dead-lettered" line. */
function summaryCounts(stdout: string): { in: number; out: number; dead: number; flagged: number } {
  const events = /events\s+([\d,]+) in, ([\d,]+) out, ([\d,]+) dead-lettered/.exec(stdout);
  const flagged = /flagged\s+([\d,]+)/.exec(stdout);
  assert.ok(events && flagged, `no summary in: ${stdout}`);
  const n = (text: string) => Number(text.replace(/,/g, ''));
  return { in: n(events[1]!), out: n(events[2]!), dead: n(events[3]!), flagged: n(flagged[1]!) };
}

describe('sluice run', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  });

  it('on SIGTERM mid-run drains, writes everything it took, prints the summary and exits 0', async () => {
    const output = join(dir, 'alerts.jsonl');
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--set', 'count=100000000', '--set', 'rate=20000', '--set', `output=${output}`, '--workers', '1']);
    await run.waitForStderr(/ev\/s/, 60_000); // the first progress line: the job is flowing
    run.kill('SIGTERM');
    assert.equal((await run.exited).code, 0, run.stderr());
    assert.match(run.stderr(), /SIGTERM: stopping/);
    const counts = summaryCounts(run.stdout());
    assert.ok(counts.in > 0);
    assert.equal(counts.in, counts.out + counts.dead, 'nothing taken was lost');
    const written = readFileSync(output, 'utf8').split('\n').filter(Boolean).length;
    assert.equal(written, counts.flagged, 'every flagged decision reached the output file');
  });

  it('runs a job from a JSONL file to the end and reports dead letters', async () => {
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, '{"broken":\n');
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--set', `input=${input}`, '--set', `output=${join(dir, 'o.jsonl')}`, '--no-progress', '--workers', '1']);
    assert.equal((await run.exited).code, 0, run.stderr());
    assert.equal(summaryCounts(run.stdout()).dead, 1);
    assert.match(run.stdout(), /dead letters \.sluice\/fraud-detection\/dead-letters\.jsonl/);
  });

  it('explains a job file that does not exist in one line', async () => {
    const run = spawnSluice(['run', 'jobs/nope.ts', '--no-progress']);
    assert.equal((await run.exited).code, 1);
    assert.equal(run.stderr().trim(), 'sluice: job file not found: jobs/nope.ts — pass the path of a .ts file that exports a job, e.g. `sluice run jobs/fraud-detection.ts`');
  });

  it('explains a job file that does not compile without a stack trace', async () => {
    const file = join(dir, 'broken-job.ts');
    writeFileSync(file, 'export default defineJob({ name: "x", \n');
    const run = spawnSluice(['run', file, '--no-progress']);
    assert.equal((await run.exited).code, 1);
    assert.match(run.stderr(), /^sluice: job file .*broken-job\.ts could not be loaded: .* — fix the file and run again\n$/);
    assert.doesNotMatch(run.stderr(), /\n\s+at /);
  });

  it('explains a job file that exports no job', async () => {
    const file = join(dir, 'not-a-job.ts');
    writeFileSync(file, 'export const answer = 42;\n');
    const run = spawnSluice(['run', file, '--no-progress']);
    assert.equal((await run.exited).code, 1);
    assert.match(run.stderr(), /does not export a job \(it exports: answer\) — add `export default defineJob/);
  });

  it('explains a missing model file and how to make it', async () => {
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--set', 'model=models/missing.onnx', '--set', 'count=10', '--no-progress']);
    assert.equal((await run.exited).code, 1);
    assert.equal(run.stderr().trim(), 'sluice: model file not found: models/missing.onnx — run `npm run train` to build it, or point the job at an existing .onnx file');
  });

  it('explains a model file that is not a loadable ONNX model, before any record', async () => {
    const model = join(dir, 'not-a-model.onnx');
    writeFileSync(model, 'not onnx');
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--set', `model=${model}`, '--set', 'count=10', '--no-progress']);
    assert.equal((await run.exited).code, 1);
    assert.match(run.stderr().trim(), /^sluice: model .*not-a-model\.onnx could not be loaded: .* — is it an ONNX file with a \[batch, features\] float32 input\?$/);
  });

  it('rejects a worker count that is not a positive integer', async () => {
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--workers', '0']);
    assert.equal((await run.exited).code, 1);
    assert.match(run.stderr(), /option '-w, --workers <n>' argument '0' is invalid\. must be a positive integer\./);
  });
});
