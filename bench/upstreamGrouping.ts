/**
 * kafkajs 2.2.4's own `groupMessagesPerPartition`, as published (before patches/kafkajs+2.2.4.patch):
 * the baseline of `npm run bench:grouping` and of the "upstream" runs of `npm run bench:side-by-side`.
 */
import { createRequire } from 'node:module';

type Partitioner = (args: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number;
export type GroupMessages = (args: { topic: string; partitionMetadata: unknown[]; messages: unknown[]; partitioner: Partitioner }) => Record<number, unknown[]>;

/** Verbatim kafkajs 2.2.4: the partition's array is copied once per message. */
export const upstreamGroupMessages: GroupMessages = ({ topic, partitionMetadata, messages, partitioner }) => {
  if (partitionMetadata.length === 0) {
    return {};
  }
  return messages.reduce<Record<number, unknown[]>>((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition] ?? [];
    return Object.assign(result, { [partition]: [...current, message] });
  }, {});
};

const require = createRequire(import.meta.url);
const modulePath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');

/** The grouping kafkajs uses in this install (patched by `npm ci`'s postinstall). */
export function installedGroupMessages(): GroupMessages {
  return require(modulePath) as GroupMessages;
}

/** True when the installed kafkajs carries Sluice's patch. */
export function groupingIsPatched(): boolean {
  return installedGroupMessages().toString().includes('current.push(message)');
}

/**
 * Makes kafkajs use the upstream grouping in this process: call before anything loads kafkajs
 * (its producer requires the module once, at load). For before/after runs on one install.
 *
 * @example
 * if (process.env.SLUICE_BENCH_GROUPING === 'upstream') useUpstreamGrouping();
 */
export function useUpstreamGrouping(): void {
  const cache = require.cache as Record<string, unknown>;
  cache[modulePath] = { id: modulePath, filename: modulePath, loaded: true, exports: upstreamGroupMessages, children: [], paths: [] };
}
