import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

// kafkajs as patched (patches/kafkajs+2.2.4.patch): how a read_committed fetch drops the records
// of aborted transactions. Upstream stepped into at most one aborted transaction per record, so
// a fetch that starts inside the aborted transactions of several producers of one partition (the
// exactly-once sink writes one transactional producer per input partition into each output
// partition) handed some of their records to the job.

interface Message {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
const filterAbortedMessages = createRequire(import.meta.url)('kafkajs/src/consumer/filterAbortedMessages.js') as (input: {
  messages: Message[];
  abortedTransactions: { producerId: string; firstOffset: string }[];
}) => Message[];

const record = (offset: number, producerId: string, inTransaction = true): Message => ({ offset: String(offset), key: Buffer.from(`k${offset}`), batchContext: { producerId, inTransaction } });
const abortMarker = (offset: number, producerId: string): Message => ({ offset: String(offset), key: Buffer.from([0, 0, 0, 0]), isControlRecord: true, batchContext: { producerId, inTransaction: true } });

describe('kafkajs read_committed filtering (patched)', () => {
  it('drops the records of every aborted transaction a fetch starts inside, whatever their order in the answer', () => {
    // A began at 0, B at 1 (both before this fetch, which starts at 2); both were aborted.
    const messages = [record(2, 'B'), record(3, 'A'), record(4, 'C', false), abortMarker(5, 'A'), record(6, 'B'), abortMarker(7, 'B'), record(8, 'A', false)];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: 'B', firstOffset: '1' }, { producerId: 'A', firstOffset: '0' }] });
    assert.deepEqual(
      kept.filter((m) => m.isControlRecord !== true).map((m) => m.offset),
      ['4', '8'],
    );
  });

  it('keeps committed transactions and records outside transactions', () => {
    const messages = [record(0, 'A'), record(1, 'B', false), record(2, 'A')];
    assert.deepEqual(filterAbortedMessages({ messages, abortedTransactions: [] }).map((m) => m.offset), ['0', '1', '2']);
  });
});
