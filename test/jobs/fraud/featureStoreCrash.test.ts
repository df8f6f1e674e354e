/**
 * `kill -9` of the fraud job while feature rows wait in materializeFeatures' write buffer: after
 * restarts from its checkpoints, every user's row in Redis equals what an uninterrupted run
 * leaves there. The write interval is longer than the runs, so until the last run ends nothing
 * reaches Redis but through the checkpoints: a killed run's buffered rows survive only if the
 * checkpoint carries them (a user whose last transaction came before a kill is otherwise never
 * written). Starts redis-server and child `sluice` processes: run under flock /tmp/heavy.lock.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { storedRow } from '../../../connectors/redis/index.ts';
import type { FeatureRow } from '../../../core/features/index.ts';
import { fraudFeatures } from '../../../jobs/fraud/featureView.ts';
import { lines, waitForLines } from '../../kit/files.ts';
import { startRedis, type TestRedis } from '../../kit/redis.ts';
import { spawnSluice } from '../../kit/sluiceProcess.ts';

const COUNT = 6000;
const USERS = 2000;

let redis: TestRedis;
let client: Redis;
let dir: string;
before(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
  dir = mkdtempSync(join(tmpdir(), 'sluice-feature-crash-'));
});
after(async () => {
  client.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The run's flags: generated transactions into Redis, one write at the end (10 min interval). */
function runArgs(output: string, extra: string[]): string[] {
  const settings = [`count=${COUNT}`, `users=${USERS}`, 'seed=5', `redis=${redis.url}`, 'featureWriteMs=600000'];
  return ['run', 'jobs/fraud-detection.ts', '--no-progress', '--no-typecheck', '--workers', '1', '--output', `decisions=${output}`, ...settings.flatMap((s) => ['--set', s]), ...extra];
}

/** Every user's row in Redis (event time and values; the write time differs between runs). */
async function onlineRows(): Promise<Map<string, FeatureRow>> {
  const rows = new Map<string, FeatureRow>();
  const prefix = `${fraudFeatures.name}:`;
  for await (const keys of client.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) {
    for (const key of keys) {
      const entity = key.slice(prefix.length);
      const row = await storedRow(client, fraudFeatures, entity);
      if (row !== undefined) rows.set(entity, row);
    }
  }
  return rows;
}

test('kill -9 with rows buffered for Redis: after restarts every user has the online row of an uninterrupted run', async () => {
  const reference = join(dir, 'reference.jsonl');
  const clean = spawnSluice(runArgs(reference, []));
  assert.equal((await clean.exited).code, 0, clean.stderr());
  const expected = await onlineRows();
  assert.equal(lines(reference).length, COUNT);
  assert.ok(expected.size > USERS / 2, `${expected.size} users in Redis`);
  await client.flushall();

  const output = join(dir, 'recovered.jsonl');
  const args = runArgs(output, ['--append', '--checkpoint-dir', join(dir, 'checkpoints'), '--checkpoint-interval', '100', '--set', 'rate=3000']);
  const logs: string[] = [];
  for (const killAt of [1500, 3500]) {
    const run = spawnSluice(args);
    await waitForLines(output, killAt);
    run.kill('SIGKILL');
    assert.equal((await run.exited).signal, 'SIGKILL');
    logs.push(run.stderr());
    if (logs.length > 1) assert.match(logs.at(-1)!, /restored checkpoint \d+/);
    // Nothing was written yet: what the killed runs buffered lives only in their checkpoints.
    assert.equal((await onlineRows()).size, 0, 'a write before the end of the last run');
  }
  const last = spawnSluice(args);
  assert.equal((await last.exited).code, 0, last.stderr());
  assert.match(last.stderr(), /restored checkpoint \d+/);

  const actual = await onlineRows();
  const lost = [...expected.keys()].filter((user) => !actual.has(user));
  assert.deepEqual(lost.slice(0, 5), [], `${lost.length} of ${expected.size} users missing from Redis after the restarts`);
  assert.equal(actual.size, expected.size);
  for (const [user, row] of expected) assert.deepEqual(actual.get(user), row, `user ${user}`);
});
