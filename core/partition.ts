/**
 * The two names a source partition goes by inside Sluice, made in one place so the engine,
 * checkpoints, operators and connectors agree on them.
 */

/**
 * One string per (topic, partition), made once: both names are asked for on every record, and a
 * string built per call costs its concatenation and, as a map key, hashing it again (about ten
 * times the lookup itself). A job sees a bounded set of partitions.
 */
function interned(make: (topic: string, partition: number) => string): (topic: string, partition: number) => string {
  const byTopic = new Map<string, string[]>();
  return (topic, partition) => {
    let byPartition = byTopic.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      byTopic.set(topic, byPartition);
    }
    return (byPartition[partition] ??= make(topic, partition));
  };
}

const keys = interned((topic, partition) => `${topic}\u0000${partition}`);
const scopes = interned((topic, partition) => `${topic}/${partition}`);

/**
 * The key of a partition in maps (completion, offsets, lag): topic and partition joined by NUL,
 * which no topic name contains. Interned, like {@link partitionScope}.
 *
 * @example
 * partitionKey('transactions', 3) // "transactions\u00003"
 */
export function partitionKey(topic: string, partition: number): string {
  return keys(topic, partition);
}

/**
 * The state scope of a partition (`topic/partition`): keyed and window state live per scope, so
 * they can move with their partition. Cached, because it is asked for on every record.
 *
 * @example
 * partitionScope('transactions', 3) // "transactions/3"
 */
export function partitionScope(topic: string, partition: number): string {
  return scopes(topic, partition);
}

/**
 * The topic and partition of a state scope, the inverse of {@link partitionScope}.
 *
 * @example
 * scopePartition('transactions/3') // { topic: 'transactions', partition: 3 }
 */
export function scopePartition(scope: string): { topic: string; partition: number } {
  const split = scope.lastIndexOf('/');
  return { topic: scope.slice(0, split), partition: Number(scope.slice(split + 1)) };
}
