import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partitionKey, partitionScope, scopePartition } from '../../core/partition.ts';

describe('partition names', () => {
  it('gives each (topic, partition) one key and one scope, the same on every call, distinct from every other', () => {
    const pairs: [string, number][] = [['a', 1], ['a', 11], ['a1', 1], ['a/1', 1], ['b', 1], ['a', 0]];
    const keys = pairs.map(([topic, partition]) => partitionKey(topic, partition));
    assert.equal(new Set(keys).size, pairs.length);
    pairs.forEach(([topic, partition], i) => assert.equal(partitionKey(topic, partition), keys[i]));
    assert.equal(partitionKey('transactions', 3), 'transactions\u00003');
    assert.equal(partitionScope('transactions', 3), 'transactions/3');
    assert.deepEqual(scopePartition(partitionScope('a/1', 7)), { topic: 'a/1', partition: 7 });
  });
});
