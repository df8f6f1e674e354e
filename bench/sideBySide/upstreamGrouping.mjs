// `node --import ./bench/sideBySide/upstreamGrouping.mjs ...`: this process's kafkajs groups
// messages by partition with its own 2.2.4 code (copying the partition's array once per message)
// instead of the patched one, for the "before" run of npm run bench:side-by-side. Plain JS so it
// loads before tsx; the same function is in bench/upstreamGrouping.ts for the micro-benchmark.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const modulePath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
const upstream = ({ topic, partitionMetadata, messages, partitioner }) => {
  if (partitionMetadata.length === 0) return {};
  return messages.reduce((result, message) => {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition] || [];
    return Object.assign(result, { [partition]: [...current, message] });
  }, {});
};
require.cache[modulePath] = { id: modulePath, filename: modulePath, loaded: true, exports: upstream, children: [], paths: [] };
