import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { KAFKA_TEST_ENV, killAllSluice, spawnSluice } from '../kit/sluiceProcess.ts';

// Nothing listens on port 1 of the loopback interface.
const NOWHERE = '127.0.0.1:1';
const ONE_LINE = /^sluice: cannot reach Kafka at 127\.0\.0\.1:1 \([^\n]*ECONNREFUSED[^\n]*\) — check --brokers \/ KAFKA_BROKERS[^\n]*\n$/;

describe('an unreachable broker', { concurrency: true }, () => {
  after(() => killAllSluice());

  it('sluice run fails with one line naming the brokers and what to check, exit code 1', async () => {
    const job = spawnSluice(['run', 'jobs/fraud-detection.ts', '--brokers', NOWHERE, '--no-progress'], { env: KAFKA_TEST_ENV });
    const { code } = await job.exited;
    assert.equal(code, 1);
    assert.match(job.stderr(), ONE_LINE);
  });

  it('sluice produce fails the same way', async () => {
    const produce = spawnSluice(['produce', '--brokers', NOWHERE, '--count', '10'], { env: KAFKA_TEST_ENV });
    const { code } = await produce.exited;
    assert.equal(code, 1);
    assert.match(produce.stderr(), ONE_LINE);
  });
});
