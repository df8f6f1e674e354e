import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Consumer } from 'kafkajs';
import { BatchRoom } from '../../../../connectors/kafka/consumer/batchRoom.ts';
import { FetchPause } from '../../../../connectors/kafka/consumer/fetchPause.ts';
import { OffsetCommitter } from '../../../../connectors/kafka/consumer/offsetCommitter.ts';
import { OffsetLedger } from '../../../../connectors/kafka/consumer/offsetLedger.ts';
import { CompletionTracker, type Ticket } from '../../../../core/completion.ts';
import { engineSourcePartitions } from '../../../../core/engine/sourcePartitions.ts';
import { InFlightBudget } from '../../../../core/flowControl.ts';
import { Instrumentation } from '../../../../core/instrumentation.ts';

// Unit specs for the Kafka source's flow control — the fetch pause, the offset committer and the
// room a fetched batch waits in — on the engine's real budget, tracker and partitions object,
// with a fake kafkajs consumer that records what it was asked to do.

/** A kafkajs consumer that accepts every commit (and says so, as COMMIT_OFFSETS would) unless told to refuse. */
class FakeConsumer {
  readonly commits: { topic: string; partition: number; offset: string }[][] = [];
  refuse = false;
  pauses = 0;
  resumes = 0;
  onCommitted: (topics: { topic: string; partitions: { partition: number; offset: string }[] }[]) => void = () => {};

  async commitOffsets(list: { topic: string; partition: number; offset: string }[]): Promise<void> {
    await Promise.resolve();
    if (this.refuse) throw Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
    this.commits.push(list);
    this.onCommitted(list.map(({ topic, partition, offset }) => ({ topic, partitions: [{ partition, offset }] })));
  }
}

function setup(capacity = 4) {
  const budget = new InFlightBudget(capacity);
  const tracker = new CompletionTracker();
  const partitions = engineSourcePartitions({ budget, tracker, checkpoints: () => undefined });
  const ledger = new OffsetLedger();
  ledger.assign([{ topic: 't', partitions: [0] }]);
  const fake = new FakeConsumer();
  let wakes = 0;
  const committer = new OffsetCommitter(ledger, partitions, () => fake as unknown as Consumer, {
    instrumentation: new Instrumentation(),
    log: () => {},
    onCommitted: () => (wakes += 1),
  });
  fake.onCommitted = (topics) => committer.committed(topics);
  const tickets = new Map<number, Ticket>();
  /** The source hands record `offset` to the job: a budget slot, a ticket, the ledger's note. */
  const take = (offset: number) => {
    assert.ok(ledger.accept('t', 0, offset));
    budget.take();
    tickets.set(offset, tracker.track({ topic: 't', partition: 0, offset }));
    ledger.emitted('t', 0, offset);
  };
  /** The job is done with record `offset`. */
  const finish = (offset: number) => {
    tickets.get(offset)!.release();
    budget.give();
  };
  return { budget, partitions, ledger, fake, committer, take, finish, wakes: () => wakes };
}

describe('FetchPause (the consumer follows the budget)', () => {
  it('pauses when the budget fills and resumes only once half of it is free, telling each change once', () => {
    const { partitions, take, finish } = setup(4);
    const calls: string[] = [];
    const fetch = new FetchPause({ pause: () => calls.push('pause'), resume: () => calls.push('resume'), changed: (paused) => calls.push(paused ? 'paused' : 'resumed') });
    partitions.on({ full: () => fetch.full(), resume: () => fetch.resume() });
    for (let offset = 0; offset < 4; offset += 1) take(offset);
    assert.deepEqual(calls, ['pause', 'paused']);
    assert.equal(fetch.paused, true);
    finish(0); // a free slot is not enough: the consumer would flap
    assert.deepEqual(calls, ['pause', 'paused']);
    finish(1);
    assert.deepEqual(calls, ['pause', 'paused', 'resume', 'resumed']);
    assert.equal(fetch.paused, false);
  });

  it('stays paused after stop, and pauses a restarted consumer again', () => {
    let pauses = 0;
    const fetch = new FetchPause({ pause: () => (pauses += 1), resume: () => assert.fail('resumed after stop'), changed: () => {} });
    fetch.full();
    fetch.stop();
    fetch.resume();
    assert.equal(fetch.paused, true);
    fetch.reapply();
    assert.equal(pauses, 3);
  });

  it('survives a consumer that cannot pause yet (not running)', () => {
    const fetch = new FetchPause({ pause: () => { throw new Error('not running'); }, resume: () => {}, changed: () => {} });
    fetch.full();
    assert.equal(fetch.paused, true);
  });
});

describe('OffsetCommitter (commits behind the job, never ahead)', () => {
  it('commits the next offset after the highest one done with everything before it', async () => {
    const { committer, fake, take, finish } = setup(10);
    for (let offset = 0; offset < 3; offset += 1) take(offset);
    finish(1);
    await committer.commit();
    assert.deepEqual(fake.commits, [], 'offset 0 is not done: nothing may be committed');
    finish(0);
    await committer.commit();
    assert.deepEqual(fake.commits, [[{ topic: 't', partition: 0, offset: '2' }]]);
  });

  it('is full once the uncommitted records reach the budget, and has room after an accepted commit', async () => {
    const { committer, take, finish, wakes } = setup(4);
    for (let offset = 0; offset < 4; offset += 1) take(offset);
    for (let offset = 0; offset < 4; offset += 1) finish(offset);
    assert.equal(committer.full, true, 'four handed out, none committed');
    await committer.commit();
    assert.equal(committer.full, false);
    assert.equal(wakes(), 1, 'an accepted commit wakes a waiting batch');
  });

  it('does not count a refused commit, and does not wake anyone for it', async () => {
    const { committer, fake, take, finish, wakes } = setup(2);
    take(0);
    take(1);
    finish(0);
    finish(1);
    fake.refuse = true;
    await committer.commit();
    assert.equal(committer.full, true);
    assert.equal(wakes(), 0);
  });

  it('commits early once half the budget is uncommitted (maybeCommit), not before', async () => {
    const { committer, fake, take, finish } = setup(8);
    for (let offset = 0; offset < 3; offset += 1) {
      take(offset);
      finish(offset);
    }
    committer.maybeCommit(); // 3 of 8 uncommitted: too early
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fake.commits.length, 0);
    take(3);
    finish(3);
    committer.maybeCommit(); // 4 of 8: half the budget
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(fake.commits, [[{ topic: 't', partition: 0, offset: '4' }]]);
  });
});

describe('BatchRoom (where a fetched batch waits)', () => {
  it('lets a waiting batch go on at the budget\'s resume event, heartbeating meanwhile', async () => {
    const { partitions, committer, take, finish } = setup(4);
    const fetch = new FetchPause({ pause: () => {}, resume: () => {}, changed: () => {} });
    const room = new BatchRoom(fetch, committer, () => false);
    partitions.on({ full: () => fetch.full(), resume: () => { fetch.resume(); room.wake(); } });
    for (let offset = 0; offset < 4; offset += 1) take(offset);
    assert.equal(room.closed, true);
    let heartbeats = 0;
    let through = false;
    const waiting = room.waitForRoom({ heartbeat: async () => void (heartbeats += 1), isRunning: () => true, owned: () => true }).then((go) => (through = go));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(through, false);
    finish(0);
    finish(1);
    await committer.commit(); // the two done records are committed, so uncommitted < budget
    await waiting;
    assert.equal(through, true);
    assert.ok(heartbeats >= 1);
  });

  it('leaves the batch when its partition is revoked or the source stops', async () => {
    const { committer, take } = setup(2);
    const fetch = new FetchPause({ pause: () => {}, resume: () => {}, changed: () => {} });
    let stopping = false;
    const room = new BatchRoom(fetch, committer, () => stopping);
    fetch.full();
    take(0);
    let owned = true;
    const revoked = room.waitForRoom({ heartbeat: async () => {}, isRunning: () => true, owned: () => owned });
    owned = false;
    room.wake();
    assert.equal(await revoked, false);
    const stopped = room.waitForRoom({ heartbeat: async () => {}, isRunning: () => true, owned: () => true });
    stopping = true;
    room.wake();
    assert.equal(await stopped, false);
  });

  it('waits for a partition\'s restore and goes on when it is done', async () => {
    const { committer } = setup(2);
    const fetch = new FetchPause({ pause: () => {}, resume: () => {}, changed: () => {} });
    const room = new BatchRoom(fetch, committer, () => false);
    let restored!: () => void;
    const restoring = new Promise<void>((resolve) => (restored = resolve));
    let done: boolean | undefined;
    const waiting = room.waitForRestore(restoring, { heartbeat: async () => {}, isRunning: () => true, owned: () => true }).then((go) => (done = go));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, undefined);
    restored();
    await waiting;
    assert.equal(done, true);
  });
});
