/**
 * The two names a source partition goes by inside Sluice, made in one place so the engine,
 * checkpoints, operators and connectors agree on them.
 */

/**
 * The key of a partition in maps (completion, offsets, lag): topic and partition joined by NUL,
 * which no topic name contains.
 *
 * @example
 * partitionKey('transactions', 3) // "transactions\u00003"
 */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

const scopes = new Map<string, string[]>();

/**
 * The state scope of a partition (`topic/partition`): keyed and window state live per scope, so
 * they can move with their partition. Cached, because it is asked for on every record.
 *
 * @example
 * partitionScope('transactions', 3) // "transactions/3"
 */
export function partitionScope(topic: string, partition: number): string {
  let byPartition = scopes.get(topic);
  if (byPartition === undefined) {
    byPartition = [];
    scopes.set(topic, byPartition);
  }
  return (byPartition[partition] ??= `${topic}/${partition}`);
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
