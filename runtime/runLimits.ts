import { ConnectorError } from '../core/errors.ts';
import type { KafkaSettings, Source, SourceContext } from '../core/job.ts';
import { partitionKey } from '../core/partition.ts';
import type { SourceRecord } from '../core/record.ts';
import { createKafka, kafkaTuning } from '../connectors/kafka/config.ts';
import { describeKafkaError } from '../connectors/kafka/errors.ts';

/** Where a run ends before its inputs do: `--max-records` and `--until-caught-up`. */
export interface RunLimits {
  /** End after this many input records (taken in or dead-lettered), across every input. */
  readonly maxRecords?: number | undefined;
  /** End once every partition has been read up to where it ended when the run started. */
  readonly backlog?: BacklogEnd | undefined;
}

/** Per partition (`topic\0partition`), the offset of the last record of the backlog; only partitions with records left to read. */
export type BacklogEnd = ReadonlyMap<string, number>;

/**
 * Where the records a run takes are counted against its limits: by one thread alone
 * ({@link localLedger}, the default), or shared by stream threads (runtime/threads/threadLimits.ts).
 */
export interface LimitLedger {
  /** Counts a record about to be taken: 'over' when the limit was reached before it (not taken), 'last' when it reaches it. */
  take(): 'taken' | 'last' | 'over';
  /** A record at or past its partition's backlog end was taken: true when that ends the run. */
  caughtUp(partition: string): boolean;
  /** True when there is no backlog to read at all: the run ends as soon as it starts. */
  readonly nothingToRead: boolean;
}

/**
 * The limits of a run of one stream thread: its own count, its own partitions left to read.
 *
 * @example
 * const ledger = localLedger({ maxRecords: 1000 });
 * ledger.take(); // 'taken', ..., then 'last' at the 1,000th, then 'over'
 */
export function localLedger(limits: RunLimits): LimitLedger {
  const { maxRecords, backlog } = limits;
  let taken = 0;
  const remaining = new Map(backlog);
  return {
    take: () => {
      if (maxRecords !== undefined && taken >= maxRecords) return 'over';
      taken += 1;
      return maxRecords !== undefined && taken >= maxRecords ? 'last' : 'taken';
    },
    caughtUp: (partition) => {
      remaining.delete(partition);
      return remaining.size === 0;
    },
    nothingToRead: backlog !== undefined && backlog.size === 0,
  };
}

/**
 * The sources of a run, ending it at its limits: once the last record allowed is handed in,
 * `stop` is called (the job drains and commits as on SIGTERM); a record offered after that is not
 * taken (not tracked, not committed: the next run reads it). Unlimited: the sources unchanged.
 *
 * @example
 * const sources = limitSources(binding.sources, { maxRecords: 100_000 }, () => running?.stop());
 */
export function limitSources(sources: Record<string, Source<unknown>>, limits: RunLimits, stop: () => void, ledger: LimitLedger = localLedger(limits)): Record<string, Source<unknown>> {
  const { maxRecords, backlog } = limits;
  if (maxRecords === undefined && backlog === undefined) return sources;
  let stopped = false;
  const end = () => {
    if (stopped) return;
    stopped = true;
    stop();
  };
  // Nothing to catch up on: end as soon as the job runs.
  if (ledger.nothingToRead) queueMicrotask(end);
  const offer = <R>(record: SourceRecord<unknown>, hand: () => R | undefined): R | undefined => {
    // Past the limit nothing more is taken, even from another input while the last one waits for room.
    if (stopped) return undefined;
    const took = ledger.take();
    if (took === 'over') return undefined;
    const wait = hand();
    let last = took === 'last';
    if (backlog !== undefined) {
      const key = partitionKey(record.position.topic, record.position.partition);
      const endOffset = backlog.get(key);
      if (endOffset !== undefined && record.position.offset >= endOffset && ledger.caughtUp(key)) last = true;
    }
    if (last) {
      // Stop once this record is in: stopping while it waits for room would turn it away.
      if (wait instanceof Promise) void wait.then(end, end);
      else end();
    }
    return wait;
  };
  return Object.fromEntries(
    Object.entries(sources).map(([name, source]) => [
      name,
      {
        name: source.name,
        run: (ctx: SourceContext<unknown>) => {
          // A backlog can end in records the source never hands out (a transaction's commit
          // marker, aborted records): a lag of 0 says the partition was read past its end.
          const off = backlog === undefined ? () => {} : ctx.instrumentation.on('source.lag', ({ topic, partition, lag }) => {
            const key = partitionKey(topic, partition);
            if (lag === 0 && backlog.has(key) && ledger.caughtUp(key)) end();
          });
          return source
            .run({
              ...ctx,
              emit: (record) => offer(record, () => ctx.emit(record)),
              deadLetter: (record, reason) => offer(record, () => ctx.deadLetter(record, reason)),
            })
            .finally(off);
        },
        ...(source.close === undefined ? {} : { close: () => source.close!() }),
      } satisfies Source<unknown>,
    ]),
  );
}

/**
 * Where the backlog of the group's partitions ends now: for each partition of `topics` with
 * records left for `groupId` (from its committed offset, or from `start` for a new group), the
 * offset of its last record. Asked once, before the job starts: records written later are not
 * waited for.
 *
 * @example
 * const backlog = await backlogEnd({ brokers: ['localhost:9092'], groupId: 'g', clientId: 'c', start: 'earliest' }, ['transactions']);
 */
export async function backlogEnd(settings: KafkaSettings, topics: readonly string[]): Promise<BacklogEnd> {
  const admin = createKafka(settings, kafkaTuning(), 'backlog').admin();
  const ends = new Map<string, number>();
  try {
    await admin.connect();
    for (const topic of new Set(topics)) {
      const [offsets, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: settings.groupId, topics: [topic] })]);
      const committedOf = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      for (const { partition, high, low } of offsets) {
        const [end, first] = [Number(high), Number(low)];
        const own = committedOf.get(partition) ?? -1;
        const from = own >= 0 ? Math.max(own, first) : settings.start === 'latest' ? end : first;
        if (from < end) ends.set(partitionKey(topic, partition), end - 1);
      }
    }
    return ends;
  } catch (error) {
    throw new ConnectorError(`--until-caught-up could not read where the backlog of ${[...topics].join(', ')} ends: ${describeKafkaError(error)}`, { cause: error, retriable: true });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * The Kafka topics a job reads, named as `bindIO` names them (`--topic name=topic`, `--input-topic`).
 *
 * @example
 * inputTopics(job.inputs, { topics: {}, inputTopic: 'tx-replay' }) // ['tx-replay']
 */
export function inputTopics(inputs: Readonly<Record<string, { readonly topic: string }>>, options: { readonly topics: Readonly<Record<string, string>>; readonly inputTopic?: string | undefined }): string[] {
  const names = Object.keys(inputs);
  return names.map((name) => options.topics[name] ?? (names.length === 1 ? options.inputTopic : undefined) ?? inputs[name]!.topic);
}

