import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatorSource } from '../../../connectors/generatorSource.ts';
import type { SourceContext } from '../../../core/job.ts';
import type { SourceRecord } from '../../../core/record.ts';
import { ownerOf, threadShare, watchFirst } from '../../../runtime/threads/threadShare.ts';

/** A source context that keeps what it is given. */
function collectingContext<T>(): { ctx: SourceContext<T>; emitted: SourceRecord<T>[]; deadLettered: SourceRecord<unknown>[] } {
  const emitted: SourceRecord<T>[] = [];
  const deadLettered: SourceRecord<unknown>[] = [];
  // Only what the sources under test touch; the engine's full context is not needed here.
  const used: Pick<SourceContext<T>, 'emit' | 'deadLetter' | 'signal'> = {
    emit: (record) => void emitted.push(record),
    deadLetter: (record) => void deadLettered.push(record),
    signal: new AbortController().signal,
  };
  const ctx = used as SourceContext<T>;
  return { ctx, emitted, deadLettered };
}

const users = (i: number) => ({ id: i, user: `u${i % 37}` });

describe('threadShare: an embedded source split among stream threads', () => {
  it('gives every record to exactly one thread, all of one key to the same thread, in source order', async () => {
    const shares = await Promise.all(
      [0, 1, 2].map(async (index) => {
        const { ctx, emitted } = collectingContext<{ id: number; user: string }>();
        await threadShare(generatorSource({ count: 3000, make: users, key: (v) => v.user, partitions: 4 }), { index, count: 3 }).run(ctx);
        return emitted;
      }),
    );
    const ids = shares.flat().map((r) => r.value.id).sort((a, b) => a - b);
    assert.deepEqual(ids, Array.from({ length: 3000 }, (_, i) => i));
    for (const share of shares) {
      assert.ok(share.length > 0, 'a thread got nothing');
      for (const record of share) assert.equal(ownerOf(record, 3), shares.indexOf(share));
      // Within a share, each key's records keep their order.
      const last = new Map<string, number>();
      for (const record of share) {
        assert.ok((last.get(record.key!) ?? -1) < record.value.id);
        last.set(record.key!, record.value.id);
      }
    }
  });

  it('keeps generator partitions whole when the thread count divides the partition count', () => {
    for (let i = 0; i < 500; i += 1) {
      const key = `u${i}`;
      const partition = [0, 1, 2, 3].find((p) => ownerOf({ key, position: { topic: 't', partition: p, offset: 0 } }, 4) === p);
      assert.notEqual(partition, undefined);
      assert.equal(ownerOf({ key, position: { topic: 't', partition: 0, offset: 0 } }, 2), partition! % 2);
    }
  });

  it('gives records without a key to the first thread (a keyBy in the pipeline must not find a key in two threads)', () => {
    for (let offset = 0; offset < 20; offset += 1) assert.equal(ownerOf({ key: undefined, position: { topic: 'f', partition: 0, offset } }, 3), 0);
  });

  it('dead-letters an undecodable record (no key) in one thread only, by its offset', async () => {
    const source = {
      name: 'bad-lines',
      run: async (ctx: SourceContext<unknown>) => {
        for (let offset = 0; offset < 10; offset += 1) ctx.deadLetter({ value: 'x', position: { topic: 'f', partition: 0, offset } }, 'bad');
      },
    };
    const counts = await Promise.all(
      [0, 1].map(async (index) => {
        const { ctx, deadLettered } = collectingContext<unknown>();
        await threadShare(source, { index, count: 2 }).run(ctx);
        return deadLettered.map((r) => r.position.offset);
      }),
    );
    assert.deepEqual([...counts[0]!, ...counts[1]!].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(counts[0], [0, 2, 4, 6, 8]);
  });

  it('watchFirst reports the wall-clock time of the first record once', async () => {
    const { ctx, emitted } = collectingContext<{ id: number; user: string }>();
    const seen: number[] = [];
    const before = Date.now();
    await watchFirst(generatorSource({ count: 5, make: users }), (at) => seen.push(at)).run(ctx);
    assert.equal(emitted.length, 5);
    assert.equal(seen.length, 1);
    assert.ok(seen[0]! >= before - 5 && seen[0]! <= Date.now() + 5, `${seen[0]} is not the time of the first record`);
  });
});
