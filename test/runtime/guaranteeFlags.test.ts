import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { runOptions, toRunOptions, type RunFlags } from '../../runtime/cliOptions.ts';
import type { RunOptions } from '../../runtime/runCommand.ts';
import { InvalidOptionError } from '../../core/errors.ts';

/** `sluice run job.ts <args>` as the command line parses it (without running anything). */
function parse(args: string[], env: Record<string, string> = {}): RunOptions {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const command = new Command('run').argument('<job>').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    for (const option of runOptions()) command.addOption(option);
    command.parse(['job.ts', ...args], { from: 'user' });
    return toRunOptions('job.ts', command.opts<RunFlags>());
  } finally {
    for (const name of Object.keys(env)) if (!(name in saved)) delete process.env[name];
  }
}

const refused = (args: string[], pattern: RegExp) => assert.throws(() => parse(args), (error: Error) => error instanceof InvalidOptionError && pattern.test(error.message));

describe('--guarantee and the Kafka security flags of sluice run', () => {
  it('is at-least-once unless asked; SLUICE_GUARANTEE asks too', () => {
    assert.equal(parse(['--brokers', 'k:9092', '--parallelism', '1']).guarantee, 'at-least-once');
    assert.equal(parse(['--brokers', 'k:9092', '--parallelism', '1'], { SLUICE_GUARANTEE: 'exactly-once' }).guarantee, 'exactly-once');
  });

  it('refuses exactly-once without Kafka or the checkpoint directory, or without the changelog on Kafka, in one line', () => {
    refused(['--guarantee', 'exactly-once', '--parallelism', '1'], /--guarantee exactly-once commits at checkpoints: add --brokers .* or --checkpoint-dir/);
    refused(['--guarantee', 'exactly-once', '--brokers', 'k:9092', '--parallelism', '1', '--no-checkpoints'], /drop --no-checkpoints \/ --checkpoint-dir/);
    refused(['--guarantee', 'exactly-once', '--brokers', 'k:9092', '--parallelism', '1', '--checkpoint-dir', '/tmp/x'], /drop --no-checkpoints \/ --checkpoint-dir/);
  });

  it('refuses a checkpoint interval over half the Kafka transaction timeout: the broker would abort the transactions first', () => {
    const exactlyOnce = ['--guarantee', 'exactly-once', '--brokers', 'k:9092', '--parallelism', '1'];
    assert.throws(() => parse([...exactlyOnce, '--checkpoint-interval', '30001']), /--checkpoint-interval 30001 ms is over half the Kafka transaction timeout \(60000 ms\)/);
    assert.equal(parse([...exactlyOnce, '--checkpoint-interval', '30000']).guarantee, 'exactly-once');
    assert.throws(() => parse([...exactlyOnce, '--checkpoint-interval', '6000'], { SLUICE_KAFKA_TRANSACTION_TIMEOUT_MS: '10000' }), /raise SLUICE_KAFKA_TRANSACTION_TIMEOUT_MS/);
    // At least once has no transactions to time out, nor has embedded exactly once.
    assert.equal(parse(['--brokers', 'k:9092', '--parallelism', '1', '--checkpoint-interval', '120000']).guarantee, 'at-least-once');
    assert.equal(parse(['--guarantee', 'exactly-once', '--checkpoint-dir', '/tmp/x', '--parallelism', '1', '--checkpoint-interval', '120000']).guarantee, 'exactly-once');
  });

  // The defaults are what SLUICE_PARALLELISM does not say.
  it('runs exactly-once with stream threads, one per core by default, on Kafka and embedded', { skip: process.env.SLUICE_PARALLELISM !== undefined }, () => {
    assert.equal(parse(['--guarantee', 'exactly-once', '--brokers', 'k:9092', '--parallelism', '2']).parallelism, 2);
    assert.equal(parse(['--guarantee', 'exactly-once', '--brokers', 'k:9092']).parallelism, availableParallelism());
    assert.equal(parse(['--guarantee', 'exactly-once', '--checkpoint-dir', '/tmp/x']).parallelism, availableParallelism());
    assert.equal(parse(['--guarantee', 'exactly-once', '--checkpoint-dir', '/tmp/x', '--parallelism', '2']).parallelism, 2);
  });

  it('puts the SASL login into the Kafka settings, the password from the environment', () => {
    const options = parse(['--brokers', 'k:9093', '--parallelism', '1', '--kafka-sasl', 'scram-sha-256', '--kafka-user', 'job'], { KAFKA_SASL_PASSWORD: 'pw' });
    assert.deepEqual(options.kafka?.security, { sasl: { mechanism: 'scram-sha-256', username: 'job', password: 'pw' } });
    assert.equal(parse(['--brokers', 'k:9092', '--parallelism', '1']).kafka?.security, undefined);
  });
});
