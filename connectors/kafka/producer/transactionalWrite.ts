import type { Message } from 'kafkajs';
import type { Envelope } from '../../../core/record.ts';
import type { InputPartition, PartitionTransactions } from '../transactions/partitionTransactions.ts';

/**
 * Writes records to `topic` in the transactions of the input partitions they came from (their
 * source position), one send per input partition, in record order within each. Resolves when
 * every send was acknowledged inside its transaction; the records become visible when the
 * checkpoint commits.
 *
 * @example
 * write: (records) => transactionalWrite(transactions, 'fraud-decisions', records, (r) => ({ key: r.key ?? null, value: JSON.stringify(r.value) }))
 */
export function transactionalWrite<T>(transactions: PartitionTransactions, topic: string, records: readonly Envelope<T>[], toMessage: (record: Envelope<T>) => Message): Promise<void> {
  const byInput = new Map<string, { input: InputPartition; messages: Message[] }>();
  for (const record of records) {
    const { topic: inputTopic, partition } = record.position;
    const id = `${inputTopic}\u0000${partition}`;
    let group = byInput.get(id);
    if (group === undefined) byInput.set(id, (group = { input: { topic: inputTopic, partition }, messages: [] }));
    group.messages.push(toMessage(record));
  }
  return Promise.all([...byInput.values()].map(({ input, messages }) => transactions.send(input, [{ topic, messages }]))).then(() => {});
}
