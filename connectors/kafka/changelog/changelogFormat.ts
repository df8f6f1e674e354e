import type { Message } from 'kafkajs';
import type { CommittedBy, PartitionCheckpoint, RestoredPartition } from '../../../core/checkpoint/partitionStore.ts';
import type { StateEntry } from '../../../core/state/backend.ts';

// The changelog's record format, written and read back. Keys are `<topic>\0<kind>...`: `r`
// (reset: a full checkpoint follows), `s\0<state>\0<key>` (a keyed state entry; null value =
// deleted), `o\0<operator>` (an operator's snapshot) and `c` (the commit marker with the offset).
// Records between two markers apply only once the second marker arrives, so a checkpoint cut
// short by a crash is ignored.

export const SEPARATOR = '\u0000';

/** The messages of one partition's checkpoint, the commit marker last. */
export function changelogMessages(checkpoint: PartitionCheckpoint): Message[] {
  const { topic, partition } = checkpoint;
  const prefix = `${topic}${SEPARATOR}`;
  const messages: Message[] = [];
  if (checkpoint.full) messages.push({ partition, key: `${prefix}r`, value: '{}' });
  for (const [name, key, entry] of checkpoint.state) {
    messages.push({
      partition,
      key: `${prefix}s${SEPARATOR}${name}${SEPARATOR}${key}`,
      value: entry === undefined ? null : JSON.stringify(entry.expiresAt === undefined ? { v: entry.value } : { v: entry.value, e: entry.expiresAt }),
    });
  }
  for (const [name, snapshot] of Object.entries(checkpoint.operators)) {
    messages.push({ partition, key: `${prefix}o${SEPARATOR}${name}`, value: JSON.stringify(snapshot) });
  }
  messages.push({ partition, key: `${prefix}c`, value: JSON.stringify({ offset: checkpoint.offset }) });
  return messages;
}

/** Rebuilds one partition's state from its changelog records, a checkpoint at a time. */
export class PartitionReplay {
  readonly #topic: string;
  readonly #partition: number;
  readonly #state = new Map<string, [string, string, StateEntry]>();
  readonly #operators: Record<string, unknown> = {};
  #offset: number | undefined;
  #committedBy: CommittedBy | undefined;
  /** Records since the last commit marker: applied when the next marker arrives. */
  #pending: Array<[kind: string, rest: string, value: Buffer | null]> = [];

  constructor(topic: string, partition: number) {
    this.#topic = topic;
    this.#partition = partition;
  }

  /** Applies one changelog record; `written` is the transactional write it came in, when known. */
  apply(kindAndRest: string, value: Buffer | null, written?: CommittedBy): void {
    const kind = kindAndRest.charAt(0);
    if (kind !== 'c') {
      this.#pending.push([kind, kindAndRest.slice(2), value]);
      return;
    }
    for (const [pendingKind, rest, pendingValue] of this.#pending) {
      if (pendingKind === 'r') this.#state.clear();
      else if (pendingKind === 's') {
        if (pendingValue === null) this.#state.delete(rest);
        else {
          const split = rest.indexOf(SEPARATOR);
          const { v, e } = JSON.parse(pendingValue.toString('utf8')) as { v: unknown; e?: number };
          this.#state.set(rest, [rest.slice(0, split), rest.slice(split + 1), e === undefined ? { value: v } : { value: v, expiresAt: e }]);
        }
      } else if (pendingKind === 'o' && pendingValue !== null) this.#operators[rest] = JSON.parse(pendingValue.toString('utf8'));
    }
    this.#pending = [];
    this.#offset = (JSON.parse(value!.toString('utf8')) as { offset: number }).offset;
    this.#committedBy = written;
  }

  result(): RestoredPartition | undefined {
    if (this.#offset === undefined) return undefined;
    const restored = { topic: this.#topic, partition: this.#partition, offset: this.#offset, state: [...this.#state.values()], operators: this.#operators };
    return this.#committedBy === undefined ? restored : { ...restored, committedBy: this.#committedBy };
  }
}
