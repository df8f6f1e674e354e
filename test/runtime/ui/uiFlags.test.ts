import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { runOptions, toRunOptions, type RunFlags } from '../../../runtime/cliOptions.ts';
import type { RunOptions } from '../../../runtime/runCommand.ts';

/** `sluice run job.ts <args>` as the command line parses it (without running anything). */
function parse(args: string[]): RunOptions {
  const command = new Command('run').argument('<job>').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  for (const option of runOptions()) command.addOption(option);
  command.parse(['job.ts', ...args], { from: 'user' });
  return toRunOptions('job.ts', command.opts<RunFlags>());
}

describe('the --ui flags of sluice run', () => {
  it('serves no dashboard unless asked', () => {
    assert.equal(parse(['--parallelism', '1']).ui, undefined);
  });

  it('--ui alone serves port 8081 on 127.0.0.1, unredacted', () => {
    assert.deepEqual(parse(['--parallelism', '1', '--ui']).ui, { port: 8081, host: '127.0.0.1', redact: false, jaegerUrl: undefined });
  });

  it('takes a port, a host, redaction and a Jaeger URL', () => {
    assert.deepEqual(parse(['--parallelism', '1', '--ui', '0', '--ui-host', '0.0.0.0', '--ui-redact', '--jaeger-url', 'http://127.0.0.1:16686']).ui, {
      port: 0,
      host: '0.0.0.0',
      redact: true,
      jaegerUrl: 'http://127.0.0.1:16686',
    });
  });

  it('refuses --ui-redact and --jaeger-url without --ui, in one line', () => {
    assert.throws(() => parse(['--parallelism', '1', '--ui-redact']), /--ui-redact applies only with --ui \(the dashboard\)/);
    assert.throws(() => parse(['--parallelism', '1', '--jaeger-url', 'http://127.0.0.1:16686']), /--jaeger-url applies only with --ui/);
  });

  it('refuses a Jaeger URL that is not http(s) and a port that is not one', () => {
    assert.throws(() => parse(['--parallelism', '1', '--ui', '--jaeger-url', 'ftp://jaeger']), /must be an http\(s\) URL/);
    assert.throws(() => parse(['--parallelism', '1', '--ui', '70000']), /must be a port number/);
  });

  it('serves the dashboard of every stream thread: --ui keeps the default of one thread per core', () => {
    assert.equal(parse(['--parallelism', '2', '--ui', '0']).parallelism, 2);
    assert.equal(parse(['--ui', '0']).parallelism, availableParallelism());
  });
});
