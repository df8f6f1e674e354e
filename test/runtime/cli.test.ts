import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { tempDir } from '../kit/files.ts';
import { spawnSluice } from '../kit/sluiceProcess.ts';

/** Parses the summary's "N in, N out, N dead-lettered" line (the summary is on stderr). */
function summaryCounts(stdout: string): { in: number; out: number; dead: number; flagged: number } {
  const events = /events\s+([\d,]+) in, ([\d,]+) out, ([\d,]+) dead-lettered/.exec(stdout);
  const flagged = /^ {2}flagged\s+([\d,]+)$/m.exec(stdout); // the summary's line, not a progress line's count
  assert.ok(events && flagged, `no summary in: ${stdout}`);
  const n = (text: string) => Number(text.replace(/,/g, ''));
  return { in: n(events[1]!), out: n(events[2]!), dead: n(events[3]!), flagged: n(flagged[1]!) };
}

describe('sluice run', () => {
  let dir: string;
  before(() => {
    dir = tempDir('sluice-cli-');
  });

  it('on SIGTERM mid-run drains, writes everything it took, prints the summary and exits 0', async () => {
    const output = join(dir, 'decisions.jsonl');
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--set', 'count=100000000', '--set', 'rate=20000', '--output', `decisions=${output}`, '--workers', '1']);
    await run.waitForStderr(/ev\/s/, 60_000); // the first progress line: the job is flowing
    run.kill('SIGTERM');
    assert.equal((await run.exited).code, 0, run.stderr());
    assert.match(run.stderr(), /SIGTERM: stopping/);
    const counts = summaryCounts(run.stderr());
    assert.ok(counts.in > 0);
    assert.equal(counts.in, counts.out + counts.dead, 'nothing taken was lost');
    const written = readFileSync(output, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { flagged: boolean });
    assert.equal(written.length, counts.out, 'every decision reached the output file');
    assert.equal(written.filter((d) => d.flagged).length, counts.flagged);
    assert.equal(run.stdout(), '', 'stdout is left to records: the summary and progress are on stderr');
  });

  it('runs a job from a JSONL file to the end and reports dead letters', async () => {
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, '{"broken":\n');
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--input', `transactions=${input}`, '--output', `decisions=${join(dir, 'o.jsonl')}`, '--no-progress', '--workers', '1']);
    assert.equal((await run.exited).code, 0, run.stderr());
    assert.equal(summaryCounts(run.stderr()).dead, 1);
    assert.match(run.stderr(), /dead letters \.sluice\/fraud-detection\/dead-letters\.jsonl/);
    assert.match(run.stderr(), new RegExp(`output decisions: file ${join(dir, 'o.jsonl')} \\(overwritten\\)`), 'the summary says the file is written afresh');
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
    assert.match(run.stderr(), /^sluice: .*broken-job\.ts has type errors — fix them, or run with --no-typecheck:\n {2}.*broken-job\.ts:2:1 '\}' expected\.\n/);
    const unchecked = spawnSluice(['run', file, '--no-progress', '--no-typecheck']);
    assert.equal((await unchecked.exited).code, 1);
    assert.match(unchecked.stderr(), /^sluice: job file .*broken-job\.ts could not be loaded: .* — fix the file and run again\n$/);
    assert.doesNotMatch(run.stderr() + unchecked.stderr(), /\n\s+at /);
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

  it('writes an output to stdout with `-`, records only: JSON lines a pipe can read', async () => {
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--set', 'count=50', '--output', 'decisions=-', '--workers', '1']);
    assert.equal((await run.exited).code, 0, run.stderr());
    const out = run.stdout().trim().split('\n');
    assert.equal(out.length, 50);
    for (const line of out) assert.equal(typeof (JSON.parse(line) as { score: number }).score, 'number');
  });

  it('appends to an output file only when told, and says which it did', async () => {
    const file = join(dir, 'appended.jsonl');
    for (const extra of [[], [], ['--append']]) {
      const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--set', 'count=20', '--output', `decisions=${file}`, '--no-progress', '--workers', '1', ...extra]);
      assert.equal((await run.exited).code, 0, run.stderr());
    }
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 40, 'overwritten by the second run, appended to by the third');
  });

  it('refuses an unknown or ill-typed setting in one line, naming the nearest setting', async () => {
    const unknown = spawnSluice(['run', 'jobs/fraud-detection.ts', '--set', 'cuont=5', '--no-progress']);
    assert.equal((await unknown.exited).code, 1);
    assert.match(unknown.stderr().trim(), /^sluice: --set cuont: this job has no setting "cuont" — did you mean "count"\? \(settings: [a-zA-Z, ]+\)$/);
    const illTyped = spawnSluice(['run', 'jobs/fraud-detection.ts', '--set', 'threshold=high', '--no-progress']);
    assert.equal((await illTyped.exited).code, 1);
    assert.equal(illTyped.stderr().trim(), 'sluice: --set threshold=high: expected a number');
  });

  it('refuses flags that do not apply to the run instead of ignoring them', async () => {
    for (const [args, message] of [
      [['--changelog-topic', 'x'], 'sluice: --changelog-topic applies only with --brokers (Kafka)'],
      [['--no-checkpoints'], 'sluice: --no-checkpoints applies only with --brokers (Kafka); embedded runs checkpoint only with --checkpoint-dir'],
      [['--topic', 'transactions=tx'], 'sluice: --topic applies only with --brokers (Kafka); without it use --input/--output files'],
      [['--input', 'payments=x.jsonl'], 'sluice: --input payments: the job has no input "payments" (inputs: transactions)'],
    ] as const) {
      const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--no-progress', ...args]);
      assert.equal((await run.exited).code, 1, args.join(' '));
      assert.equal(run.stderr().trim(), message);
    }
  });

  it('lists the job\'s settings, inputs and outputs in `run <job> --help`', async () => {
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--help']);
    assert.equal((await run.exited).code, 0);
    assert.match(run.stdout(), /Job fraud-detection: /);
    assert.match(run.stdout(), /inputs: {2}transactions \(topic transactions\)/);
    assert.match(run.stdout(), /--set threshold=<number ≥ 0, ≤ 1>\s+score at or above which a transaction is flagged \(default: 0\.7\)/);
  });

  it('ends a job whose operator throws within seconds, with one line naming the stage and the record', async () => {
    const file = join(dir, 'throwing-job.ts');
    writeFileSync(
      file,
      [
        `import { defineJob, input, output } from ${JSON.stringify(new URL('../../core/index.ts', import.meta.url).pathname)};`,
        `import { map } from ${JSON.stringify(new URL('../../operators/index.ts', import.meta.url).pathname)};`,
        'export default defineJob({',
        "  name: 'throwing', inputs: { n: input('n', { parse: (v: unknown) => Number(v) }) }, outputs: { out: output<number>('out') },",
        '  generate: () => ({ n: { count: 1_000_000, make: (i: number) => i } }),',
        "  pipeline: ({ n }) => n.pipe(map((v) => { if (v === 5000) throw new Error('no amount'); return v; }, { stage: 'features' })),",
        '});',
      ].join('\n'),
    );
    const started = Date.now();
    const run = spawnSluice(['run', file, '--no-progress', '--no-typecheck']);
    assert.equal((await run.exited).code, 1);
    // A stop that waits for the records stuck behind the failed stage is cut off by the failed-stop
    // bound (30 s), which says so; without that, it waits out the 60 s drain timeout. 45 s from
    // the spawn tells the latter apart from a start on a loaded machine (a second or two here).
    assert.doesNotMatch(run.stderr(), /did not stop within/, 'it waited for records that never finish');
    assert.ok(Date.now() - started < 45_000, 'it did not wait out a drain timeout');
    assert.match(run.stderr(), /^sluice: stage "features" failed on n\[\d\]@\d+: no amount — fix the operator, or give it \{ onError: 'dead-letter' \} to send such records to the dead-letter sink$/m);
    assert.doesNotMatch(run.stderr(), /\n\s+at /, 'no stack trace');
  });

  it('reports type errors in a job file in one block before starting', async () => {
    const file = join(dir, 'ill-typed-job.ts');
    writeFileSync(
      file,
      [
        `import { defineJob, input, output } from ${JSON.stringify(new URL('../../core/index.ts', import.meta.url).pathname)};`,
        `import { map } from ${JSON.stringify(new URL('../../operators/index.ts', import.meta.url).pathname)};`,
        'export default defineJob({',
        "  name: 'ill-typed', inputs: { n: input('n', { parse: (v: unknown) => Number(v) }) }, outputs: { out: output<string>('out') },",
        '  pipeline: ({ n }) => n.pipe(map((v) => v * 2)),',
        '});',
      ].join('\n'),
    );
    const run = spawnSluice(['run', file, '--no-progress']);
    assert.equal((await run.exited).code, 1);
    assert.match(run.stderr(), /^sluice: .*ill-typed-job\.ts has type errors — fix them, or run with --no-typecheck:\n {2}.*ill-typed-job\.ts:5:\d+ .*number.*string/);
  });

  it('rejects a worker count that is not a positive integer', async () => {
    const run = spawnSluice(['run', 'jobs/fraud-detection.ts', '--workers', '0']);
    assert.equal((await run.exited).code, 1);
    assert.match(run.stderr(), /option '-w, --workers <n>' argument '0' is invalid\. must be a positive integer\./);
  });
});
