import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClock } from '../../../core/clock.ts';
import { MemoryStateBackend, restoreState, snapshotState } from '../../../core/state/backend.ts';
import { KeyedStateStore, mapState, valueState } from '../../../core/state/keyedState.ts';

describe('keyed state', () => {
  it('scopes value state to the current key and partition', () => {
    const store = new KeyedStateStore(new MemoryStateBackend(), new TestClock());
    const count = store.value(valueState<number>('count'));
    store.setCurrentKey('t/0', 'alice');
    count.update(1);
    store.setCurrentKey('t/0', 'bob');
    assert.equal(count.get(), undefined);
    count.update(5);
    store.setCurrentKey('t/1', 'alice');
    assert.equal(count.get(), undefined, 'another partition has its own state');
    store.setCurrentKey('t/0', 'alice');
    assert.equal(count.get(), 1);
  });

  it('expires value state after its TTL of processing time since the last write', () => {
    const clock = new TestClock(0);
    const store = new KeyedStateStore(new MemoryStateBackend(), clock);
    const last = store.value(valueState<string>('last', { ttlMs: 1000 }));
    store.setCurrentKey('t/0', 'k');
    last.update('a');
    clock.advance(999);
    assert.equal(last.get(), 'a');
    last.update('b');
    clock.advance(999);
    assert.equal(last.get(), 'b', 'a write renews the TTL');
    clock.advance(1);
    assert.equal(last.get(), undefined);
  });

  it('expires map entries one by one', () => {
    const clock = new TestClock(0);
    const store = new KeyedStateStore(new MemoryStateBackend(), clock);
    const merchants = store.map(mapState<number>('merchants', { ttlMs: 100 }));
    store.setCurrentKey('t/0', 'k');
    merchants.put('m1', 1);
    clock.advance(60);
    merchants.put('m2', 2);
    clock.advance(60);
    assert.equal(merchants.get('m1'), undefined);
    assert.deepEqual(merchants.entries(), [['m2', 2]]);
  });

  it('restores a snapshot as an independent copy', () => {
    const backend = new MemoryStateBackend();
    const store = new KeyedStateStore(backend, new TestClock());
    const history = store.value(valueState<{ seen: number[] }>('history'));
    store.setCurrentKey('t/0', 'k');
    history.update({ seen: [1, 2] });
    const snapshot = JSON.parse(JSON.stringify(snapshotState(backend)));
    history.get()!.seen.push(3);
    const restored = new MemoryStateBackend();
    restoreState(restored, snapshot);
    const again = new KeyedStateStore(restored, new TestClock()).value(valueState<{ seen: number[] }>('history'));
    assert.deepEqual(again.get(), undefined, 'no current key yet');
    const store2 = new KeyedStateStore(restored, new TestClock());
    store2.setCurrentKey('t/0', 'k');
    assert.deepEqual(store2.value(valueState<{ seen: number[] }>('history')).get(), { seen: [1, 2] });
  });
});
