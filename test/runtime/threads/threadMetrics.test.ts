import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { eventuallyValue } from '../../kit/eventually.ts';
import { killAllSluice, spawnSluice } from '../../kit/sluiceProcess.ts';

// One /metrics for a run of two stream threads: each thread's metrics, added up, and the
// process's own (CPU, memory) once. A child process: run under the heavy lock.

/** The sample lines of one metric (name followed by labels or a space). */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`));
}

function value(line: string | undefined): number {
  return Number(line?.split(' ').at(-1));
}

describe('/metrics of --parallelism 2', () => {
  after(async () => {
    await killAllSluice();
  });

  it('adds the threads\' metrics together and reports process metrics once', async () => {
    const run = spawnSluice([
      'run', 'jobs/fraud-detection.ts', '--parallelism', '2', '--workers', '2', '--no-progress', '--metrics-port', '0',
      '--set', 'count=100000000', '--set', 'rate=3000', '--output', 'decisions=none',
    ]);
    try {
      const [, url] = await run.waitForStderr(/metrics: (http:\/\/\S+)/, 60_000);
      // Until both threads have records in: the sum must exceed what one thread alone could report.
      const recordsIn = (scraped: string) => value(samples(scraped, 'sluice_records_in_total')[0]);
      const text = await eventuallyValue('more than 2000 records in, from both threads', async () => (await fetch(url!)).text(), (scraped) => recordsIn(scraped) > 2000, {
        timeoutMs: 30_000,
        everyMs: 200,
        detail: (scraped) => `sluice_records_in_total ${recordsIn(scraped)}\n${run.stderr()}`,
      });
      // Each thread has a pool of one worker (--workers 2 shared out): two in all.
      assert.deepEqual(samples(text, 'sluice_worker_pool_threads').map(value), [2], text);
      const utilization = samples(text, 'sluice_worker_pool_utilization').map(value);
      assert.equal(utilization.length, 1);
      assert.ok(utilization[0]! >= 0 && utilization[0]! <= 1, `utilization ${utilization[0]} is not a fraction`);
      assert.equal(samples(text, 'process_cpu_user_seconds_total').length, 1, 'process metrics once, not once per thread');
      assert.equal(samples(text, 'sluice_records_in_total').length, 1);
      const scraped = value(samples(text, 'sluice_records_in_total')[0]);
      run.kill('SIGTERM');
      const exit = await run.exited;
      assert.equal(exit.code, 0, run.stderr());
      const total = Number(/events +([\d,]+) in/.exec(run.stderr())?.[1]?.replace(/,/g, ''));
      assert.ok(scraped > 0 && scraped <= total, `scraped ${scraped} records in, the summary says ${total}`);
    } finally {
      run.kill('SIGKILL');
    }
  });
});
