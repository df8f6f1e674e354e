/** Shared helpers of the window tests: records with real tickets, readable outputs, a sum aggregate. */
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { CompletionTracker } from '../../../core/completion.ts';
import type { Envelope } from '../../../core/record.ts';
import type { AggregateFunction } from '../../../operators/windows/aggregateFunction.ts';
import type { WindowOutput } from '../../../operators/windows/windowOutput.ts';

/** One input record: key, event time, value and (optionally) the source partition. */
export interface Row {
  key: string;
  ts: number;
  value: number;
  partition?: number;
}

/** Makes envelopes with increasing offsets per partition and tickets from a real tracker. */
export class Records {
  readonly tracker = new CompletionTracker();
  readonly #offsets = new Map<number, number>();

  make(row: Row): Envelope<number> {
    const partition = row.partition ?? 0;
    const offset = this.#offsets.get(partition) ?? 0;
    this.#offsets.set(partition, offset + 1);
    const position = { topic: 'tx', partition, offset };
    return { key: row.key, value: row.value, timestamp: row.ts, position, headers: {}, trace: undefined, receivedAt: 0, original: undefined, ticket: this.tracker.track(position) };
  }
}

/** A window output as one short string: `a[0,10000)=8` (on time), `a[0,10000)=12#1` (first late update), `late a@9500`. */
export function describe(output: WindowOutput<number, number>): string {
  if (output.kind === 'late') return `${output.reason} ${output.key}@${output.timestamp}`;
  return `${output.key}[${output.start},${output.end})=${output.result}${output.firing > 0 ? `#${output.firing}` : ''}`;
}

/** Sums values; merges by adding (so it works for sessions). */
export const sum: AggregateFunction<number, number, number> = {
  createAccumulator: () => 0,
  add: (value, acc) => acc + value,
  getResult: (acc) => acc,
  merge: (a, b) => a + b,
};

export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
}
