import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletionTracker } from '../../core/completion.ts';

const at = (offset: number, partition = 0) => ({ topic: 't', partition, offset });

describe('CompletionTracker', () => {
  it('never reports a position done while an earlier record of its partition is open', () => {
    const tracker = new CompletionTracker();
    const tickets = [10, 11, 12, 13].map((offset) => tracker.track(at(offset)));
    tickets[3]!.release();
    tickets[1]!.release();
    assert.equal(tracker.committable('t', 0), undefined);
    tickets[0]!.release();
    assert.equal(tracker.committable('t', 0), 11, 'covers 10 and 11, not 13 while 12 is open');
    tickets[2]!.release();
    assert.equal(tracker.committable('t', 0), 13);
    assert.equal(tracker.pending('t', 0), 0);
  });

  it('keeps partitions independent', () => {
    const tracker = new CompletionTracker();
    const a = tracker.track(at(0, 0));
    const b = tracker.track(at(0, 1));
    b.release();
    assert.equal(tracker.committable('t', 1), 0);
    assert.equal(tracker.committable('t', 0), undefined);
    a.release();
    assert.equal(tracker.committable('t', 0), 0);
  });

  it('tracks a forgotten partition afresh when its records come again from an earlier offset', () => {
    const tracker = new CompletionTracker();
    tracker.track(at(10)).release();
    tracker.track(at(11)).release();
    tracker.forget('t', 0);
    assert.equal(tracker.committable('t', 0), undefined);
    const again = tracker.track(at(10));
    assert.equal(tracker.pending('t', 0), 1);
    again.release();
    assert.equal(tracker.committable('t', 0), 10);
  });

  it('holds a retained ticket open until every holder released it', () => {
    const tracker = new CompletionTracker();
    const ticket = tracker.track(at(0));
    ticket.retain();
    ticket.release();
    assert.equal(ticket.done, false);
    assert.equal(tracker.committable('t', 0), undefined);
    ticket.release();
    assert.equal(tracker.committable('t', 0), 0);
  });

  it('refuses a ticket released twice', () => {
    const ticket = new CompletionTracker().track(at(0));
    ticket.release();
    assert.throws(() => ticket.release(), /released twice/);
  });

  it('refuses offsets that go backwards within a partition', () => {
    const tracker = new CompletionTracker();
    tracker.track(at(5));
    assert.throws(() => tracker.track(at(5)), /increasing order/);
  });

  it('stays correct across internal compaction with random completion order', () => {
    const tracker = new CompletionTracker();
    const open = new Map<number, ReturnType<CompletionTracker['track']>>();
    let next = 0;
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let step = 0; step < 60_000; step += 1) {
      if (open.size < 500 && random() < 0.55) {
        open.set(next, tracker.track(at(next)));
        next += 1;
      } else if (open.size > 0) {
        const offsets = [...open.keys()];
        const offset = offsets[Math.floor(random() * offsets.length)]!;
        open.get(offset)!.release();
        open.delete(offset);
      }
      const lowestOpen = open.size === 0 ? next : Math.min(...open.keys());
      const committable = tracker.committable('t', 0);
      assert.equal(committable ?? -1, lowestOpen - 1, `step ${step}`);
    }
  });
});
