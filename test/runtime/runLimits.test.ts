import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Instrumentation } from '../../core/instrumentation.ts';
import type { Source, SourceContext } from '../../core/job.ts';
import type { SourceRecord } from '../../core/record.ts';
import { limitSources } from '../../runtime/runLimits.ts';

/** A source that offers `records` in order, waiting whenever the context says so, until it is told to stop. */
function listSource(records: SourceRecord<number>[]): Source<unknown> {
  return {
    name: 'list',
    async run(ctx) {
      for (const record of records) {
        if (ctx.signal.aborted) return;
        const wait = record.value < 0 ? ctx.deadLetter(record, 'negative') : ctx.emit(record);
        if (wait !== undefined) await wait;
      }
    },
  };
}

/** The engine's side: takes records until stopped (then turns them away, as admission does); `full` makes every offer wait a turn. */
function engine(options: { full?: boolean } = {}) {
  const stopping = new AbortController();
  const taken: SourceRecord<unknown>[] = [];
  let stops = 0;
  const offer = (record: SourceRecord<unknown>): Promise<void> | undefined => {
    const admit = () => {
      if (!stopping.signal.aborted) taken.push(record);
    };
    if (options.full === true) return Promise.resolve().then(admit);
    admit();
    return undefined;
  };
  const instrumentation = new Instrumentation();
  const ctx = { emit: offer, deadLetter: offer, signal: stopping.signal, instrumentation } as unknown as SourceContext<unknown>;
  const stop = () => {
    stops += 1;
    stopping.abort();
  };
  return { ctx, taken, stop, stops: () => stops, instrumentation };
}

const records = (count: number, partitions = 1): SourceRecord<number>[] =>
  Array.from({ length: count }, (_, i) => ({ value: i % 7 === 3 ? -1 : i, position: { topic: 't', partition: i % partitions, offset: Math.floor(i / partitions) } }));

describe('run limits', () => {
  it('--max-records: exactly N records are taken (dead letters count), then the job is stopped once', async () => {
    const run = engine();
    const sources = limitSources({ list: listSource(records(100)) }, { maxRecords: 10 }, run.stop);
    await sources.list!.run(run.ctx);
    assert.equal(run.taken.length, 10);
    assert.deepEqual(run.taken.map((r) => r.position.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(run.stops(), 1);
  });

  it('--max-records: the last record is taken even when it waits for room (the stop comes after it)', async () => {
    const run = engine({ full: true });
    const sources = limitSources({ list: listSource(records(100)) }, { maxRecords: 5 }, run.stop);
    await sources.list!.run(run.ctx);
    assert.equal(run.taken.length, 5);
    assert.equal(run.stops(), 1);
  });

  it('--until-caught-up: stops once every partition reached the offset its backlog ended at', async () => {
    const run = engine();
    // Partition 0 ends at offset 4, partition 1 at offset 2; partition 2 had nothing to read.
    const backlog = new Map([['t\u00000', 4], ['t\u00001', 2]]);
    const sources = limitSources({ list: listSource(records(40, 2)) }, { backlog }, run.stop);
    await sources.list!.run(run.ctx);
    // Offsets 0..4 of partition 0 are records 0, 2, 4, 6, 8: the stop comes with record 8.
    assert.equal(run.taken.length, 9);
    assert.equal(run.stops(), 1);
  });

  it('--until-caught-up: a backlog that ends in a transaction marker ends when the source reports no lag', async () => {
    const run = engine();
    // Partition 0's last record is offset 4; offset 5 is a commit marker the source never hands out.
    const backlog = new Map([['t\u00000', 5]]);
    const source: Source<unknown> = {
      name: 'transactional',
      async run(ctx) {
        for (let offset = 0; offset < 5; offset += 1) await ctx.emit({ value: offset, position: { topic: 't', partition: 0, offset } });
        assert.equal(run.stops(), 0, 'stopped before the backlog was read');
        // The fetch that holds only the marker: the Kafka source moves past it and reports lag 0.
        ctx.instrumentation.emit('source.lag', { topic: 't', partition: 0, lag: 0 });
      },
    };
    await limitSources({ list: source }, { backlog }, run.stop).list!.run(run.ctx);
    assert.equal(run.taken.length, 5);
    assert.equal(run.stops(), 1);
    assert.equal(run.instrumentation.wants('source.lag'), false, 'the listener is removed when the source ends');
  });

  it('--until-caught-up with nothing to catch up on stops at once', async () => {
    const run = engine();
    limitSources({ list: listSource([]) }, { backlog: new Map() }, run.stop);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(run.stops(), 1);
  });

  it('no limits: the sources are left as they are', () => {
    const sources = { list: listSource([]) };
    assert.equal(limitSources(sources, {}, () => {}), sources);
  });
});
