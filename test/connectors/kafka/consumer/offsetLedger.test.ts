import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletionTracker, type Ticket } from '../../../../core/completion.ts';
import { OffsetLedger } from '../../../../connectors/kafka/consumer/offsetLedger.ts';

/** A ledger and a tracker wired the way the Kafka source uses them. */
function setup(partitions: number[] = [0]) {
  const tracker = new CompletionTracker();
  const ledger = new OffsetLedger();
  ledger.assign([{ topic: 't', partitions }]);
  const tickets = new Map<string, Ticket>();
  const take = (partition: number, offset: number): boolean => {
    if (!ledger.accept('t', partition, offset)) return false;
    tickets.set(`${partition}@${offset}`, tracker.track({ topic: 't', partition, offset }));
    ledger.emitted('t', partition, offset);
    return true;
  };
  const finish = (partition: number, offset: number) => tickets.get(`${partition}@${offset}`)!.release();
  const due = () => ledger.due((topic, partition) => tracker.committable(topic, partition));
  return { tracker, ledger, take, finish, due };
}

describe('OffsetLedger (what a Kafka source commits)', () => {
  it('commits nothing while the first record of a partition is unfinished, even when later ones are done', () => {
    const { take, finish, due } = setup();
    for (const offset of [5, 6, 7]) take(0, offset);
    finish(0, 7);
    finish(0, 6);
    assert.deepEqual(due(), []);
  });

  it('commits committable + 1 once the unfinished record finishes', () => {
    const { take, finish, due } = setup();
    for (const offset of [5, 6, 7]) take(0, offset);
    finish(0, 6);
    finish(0, 5);
    assert.deepEqual(due(), [{ topic: 't', partition: 0, offset: 7 }]);
    finish(0, 7);
    assert.deepEqual(due(), [{ topic: 't', partition: 0, offset: 8 }]);
  });

  it('never commits past an unfinished record, whatever the order records finish in', () => {
    // Finish 200 records in a shuffled order; after each, the commit must not cover any open one.
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const { take, finish, due, ledger } = setup([0, 1]);
    const open = new Set<string>();
    for (let offset = 0; offset < 100; offset += 1) {
      for (const partition of [0, 1]) {
        take(partition, offset);
        open.add(`${partition}@${offset}`);
      }
    }
    const order = [...open].sort(() => random() - 0.5);
    for (const id of order) {
      const [partition, offset] = id.split('@').map(Number) as [number, number];
      finish(partition, offset);
      open.delete(id);
      const commits = due();
      for (const commit of commits) {
        for (let o = 0; o < commit.offset; o += 1) {
          assert.ok(!open.has(`${commit.partition}@${o}`), `commit ${commit.offset} of partition ${commit.partition} covers unfinished offset ${o}`);
        }
      }
      ledger.committed(commits);
    }
    assert.equal(ledger.uncommitted(), 0);
  });

  it('does not commit again what was already committed', () => {
    const { take, finish, due, ledger } = setup();
    take(0, 0);
    finish(0, 0);
    ledger.committed(due());
    assert.deepEqual(due(), []);
  });

  it('never moves a commit backwards', () => {
    const { take, finish, ledger } = setup();
    take(0, 0);
    finish(0, 0);
    ledger.committed([{ topic: 't', partition: 0, offset: 1 }]);
    ledger.committed([{ topic: 't', partition: 0, offset: 0 }]);
    assert.deepEqual(ledger.due(() => 0), []);
  });

  it('refuses offsets it already handed out (a partition fetched again from its committed offset)', () => {
    const { take, ledger } = setup();
    assert.equal(take(0, 10), true);
    assert.equal(take(0, 11), true);
    assert.equal(ledger.accept('t', 0, 10), false);
    assert.equal(ledger.accept('t', 0, 11), false);
    assert.equal(ledger.accept('t', 0, 12), true);
  });

  it('refuses records of partitions that are not assigned', () => {
    const { ledger } = setup([0]);
    assert.equal(ledger.accept('t', 1, 0), false);
    assert.equal(ledger.accept('other', 0, 0), false);
  });

  it('counts records handed out and not committed, which bounds what a crash repeats', () => {
    const { take, finish, due, ledger } = setup([0, 1]);
    for (let offset = 0; offset < 10; offset += 1) take(0, offset);
    for (let offset = 100; offset < 105; offset += 1) take(1, offset);
    assert.equal(ledger.uncommitted(), 15);
    for (let offset = 0; offset < 4; offset += 1) finish(0, offset);
    ledger.committed(due());
    assert.equal(ledger.uncommitted(), 11);
    ledger.remove('t', 1);
    assert.equal(ledger.uncommitted(), 6);
  });

  it('on a new assignment reports revoked partitions and keeps the positions of the others', () => {
    const { take, ledger } = setup([0, 1, 2]);
    take(1, 41);
    const change = ledger.assign([{ topic: 't', partitions: [1, 3] }]);
    assert.deepEqual(change.revoked.map((r) => r.partition).sort(), [0, 2]);
    assert.deepEqual(change.kept, [{ topic: 't', partition: 1, next: 42 }]);
    assert.deepEqual(change.added, [{ topic: 't', partition: 3 }]);
    // Revoked partitions stay until the source has committed them and removes them.
    assert.equal(ledger.has('t', 0), true);
    ledger.remove('t', 0);
    assert.equal(ledger.has('t', 0), false);
  });

  it('starts a partition afresh when it comes back after being removed, however recently it was read', () => {
    const { take, ledger, tracker } = setup([0, 1]);
    take(0, 40);
    take(0, 41);
    ledger.remove('t', 0);
    tracker.forget('t', 0);
    assert.equal(ledger.accept('t', 0, 42), false, 'not assigned once removed');
    ledger.assign([{ topic: 't', partitions: [0, 1] }]);
    assert.equal(ledger.lastEmitted('t', 0), undefined);
    assert.equal(take(0, 40), true, 'the new owner redoes from the committed offset');
    take(1, 7);
    assert.equal(take(0, 41), true);
    assert.equal(ledger.lastEmitted('t', 0), 41);
    assert.equal(ledger.lastEmitted('t', 1), 7);
  });

  it('reports lag from the high watermark and the next offset to hand out', () => {
    const { take, ledger } = setup();
    assert.equal(ledger.lag('t', 0), undefined);
    take(0, 0);
    take(0, 1);
    ledger.observeHighWatermark('t', 0, 10);
    assert.equal(ledger.lag('t', 0), 8);
  });

  it('a position read past records it never hands out (a transaction marker) counts as read', () => {
    const { take, ledger } = setup();
    for (let offset = 0; offset < 9; offset += 1) take(0, offset);
    ledger.observeHighWatermark('t', 0, 10); // offset 9 is the commit marker
    assert.equal(ledger.lag('t', 0), 1);
    ledger.observePosition('t', 0, 10);
    assert.equal(ledger.lag('t', 0), 0);
    ledger.observePosition('t', 0, 7); // an older position never wins
    assert.equal(ledger.lag('t', 0), 0);
  });

  it('after a batch: resumes after the last record handed out; past the markers only when all were', () => {
    const { take, ledger } = setup();
    for (let offset = 0; offset < 5; offset += 1) take(0, offset);
    ledger.observeHighWatermark('t', 0, 12);
    // Records 0..9 fetched (markers at 10 and 11), only 0..4 handed out: resume after 4, lag stays.
    const batch = (from: number) => ({ topic: 't', partition: 0, messages: Array.from({ length: 10 - from }, (_, i) => ({ offset: String(from + i) })), firstOffset: () => String(from), lastOffset: () => '11' });
    assert.equal(ledger.afterBatch(batch(0)), 4);
    assert.equal(ledger.lag('t', 0), 7);
    for (let offset = 5; offset < 10; offset += 1) take(0, offset);
    assert.equal(ledger.afterBatch(batch(5)), 9);
    assert.equal(ledger.lag('t', 0), 0);
  });
});
