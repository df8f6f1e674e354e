/**
 * Helpers for the hot-swap and shadow tests: a temporary registry whose version 1 is the real
 * fraud@1 (model, manifest, fixtures and held-out rows), and a scoring job over it.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatorSource } from '../../../connectors/generatorSource.ts';
import { defineJob, input, output } from '../../../core/index.ts';
import type { ModelHandle, ModelLifecycleEvent } from '../../../core/inference.ts';
import { Instrumentation, type InstrumentationEvents } from '../../../core/instrumentation.ts';
import type { Source } from '../../../core/job.ts';
import { infer, type InferOptions, type Prediction } from '../../../operators/infer.ts';
import { map } from '../../../operators/index.ts';
import { microBatch } from '../../../operators/microBatch.ts';
import { FRAUD_REGISTRY, tempRegistry, writeVersion } from './registryKit.ts';

export { writeVersion };

/** A temporary registry holding fraud@1 with its fixtures and held-out rows; `remove()` it in `after`. */
export function registryWithV1(): { dir: string; remove: () => void } {
  const registry = tempRegistry();
  const v1 = writeVersion(registry.dir, 1);
  for (const file of ['fixtures.json', 'holdout.csv']) copyFileSync(join(FRAUD_REGISTRY, '1', file), join(v1, file));
  return registry;
}

export interface Item {
  key: string;
  seq: number;
  features: number[];
}

export interface Scored {
  item: Item;
  prediction: Prediction;
  /** performance.now() when infer emitted it. */
  at: number;
}

/** Feature rows spread like transactions: varied enough that scores differ between rows. */
export function features(i: number): number[] {
  return Array.from({ length: 10 }, (_, j) => (((i * 7919 + j * 104729) % 1000) / 1000) * (j < 6 ? 4 - 2 : 1));
}

/** A job scoring generated items through `infer` with the given model options. */
export function scoringJob(options: Pick<InferOptions<Item, unknown>, 'model' | 'shadow' | 'shadowThreshold'> & { batch?: number }) {
  return defineJob({
    name: 'live-scoring',
    inputs: { items: input('items', { parse: (v: unknown) => v as Item }, { key: (item) => item.key }) },
    outputs: { scored: output<Scored>('scored') },
    pipeline: ({ items }) =>
      items.pipe(
        microBatch({ maxSize: options.batch ?? 64, maxWaitMs: 5 }),
        infer({
          model: options.model,
          ...(options.shadow === undefined ? {} : { shadow: options.shadow }),
          ...(options.shadowThreshold === undefined ? {} : { shadowThreshold: options.shadowThreshold }),
          columns: 10,
          features: (item: Item) => item.features,
          fallback: { score: 1 },
          output: (item: Item, prediction: Prediction) => ({ item, prediction, at: 0 }),
        }),
        map((scored: Scored) => ({ ...scored, at: performance.now() })),
      ),
  });
}

/**
 * A generated source of `count` items over `keys` keys, at `rate` per second; `onItem(i)` runs as
 * item i is made, and the source ends after the item for which `until(i)` is true (so a test can
 * run until something it waits for has happened, however slow the machine).
 */
export function items(
  count: number,
  options: { keys?: number; rate?: number; onItem?: (i: number) => void; until?: (i: number) => boolean } = {},
): Record<string, Source<unknown>> {
  const stop = new AbortController();
  const source = generatorSource({
      name: 'items',
      count,
      partitions: 4,
      ...(options.rate === undefined ? {} : { ratePerSecond: options.rate }),
      make: (i) => {
        options.onItem?.(i);
        if (options.until?.(i) === true) stop.abort();
        return { key: `k${i % (options.keys ?? 17)}`, seq: i, features: features(i) };
      },
      key: (item) => item.key,
    });
  return {
    items: {
      name: source.name,
      // The generator stops when its context's signal aborts: give it the job's signal or ours.
      run: (ctx) => {
        const signal = AbortSignal.any([ctx.signal, stop.signal]);
        return source.run(new Proxy(ctx, { get: (target, property, receiver) => (property === 'signal' ? signal : bindIfFunction(Reflect.get(target, property, receiver), target)) }));
      },
    },
  };
}

function bindIfFunction(value: unknown, target: object): unknown {
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

/** An instrumentation that keeps every event of the given kinds. */
export function recording<E extends keyof InstrumentationEvents>(...events: E[]): { instrumentation: Instrumentation; seen: { [K in E]: InstrumentationEvents[K][] } } {
  const instrumentation = new Instrumentation();
  const seen = {} as { [K in E]: InstrumentationEvents[K][] };
  for (const event of events) {
    const list: InstrumentationEvents[E][] = [];
    (seen as Record<string, unknown>)[event] = list;
    instrumentation.on(event, (payload) => list.push(payload));
  }
  return { instrumentation, seen };
}

/** Resolves with `handle`'s next lifecycle event (not the one it replays to a new listener). */
export function nextEvent(handle: ModelHandle): Promise<ModelLifecycleEvent> {
  return new Promise((resolve) => {
    let initial = true;
    const off = handle.onLifecycle!((event) => {
      if (initial) return;
      off();
      resolve(event);
    });
    initial = false;
  });
}
