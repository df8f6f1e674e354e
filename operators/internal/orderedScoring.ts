import { StageError } from '../../core/errors.ts';
import type { Envelope } from '../../core/record.ts';
import type { Batch } from '../microBatch.ts';

/**
 * Runs up to `concurrency` batches at once, merges the waiting ones, and emits records in arrival
 * order (so per-key order holds, and a model swap shows in the output at a batch boundary).
 *
 * @example
 * const scoring = new OrderedScoring(score, 4, 2048, subscriber, 'infer');
 * scoring.add(batch);
 * scoring.end();
 */
export class OrderedScoring<T, B> {
  readonly #running: Array<{ output: Envelope<B>[] | undefined }> = [];
  #waiting: Array<{ batch: Batch<T>; mergeable: boolean }> = [];
  #active = 0;
  #inputDone = false;
  #closed = false;

  constructor(
    private readonly score: (batch: Batch<T>) => Promise<Envelope<B>[]>,
    private readonly concurrency: number,
    private readonly maxRows: number,
    private readonly subscriber: { next(value: Envelope<B>): void; error(error: unknown): void; complete(): void },
    private readonly stage: string,
  ) {}

  /** A batch to score; `mergeable` when infer made it itself (a microBatch before infer fixes its size). */
  add(batch: Batch<T>, mergeable = true): void {
    if (this.#active < this.concurrency) this.#start(batch);
    else this.#waiting.push({ batch, mergeable });
  }

  end(): void {
    this.#inputDone = true;
    this.#flush();
  }

  /** The waiting batches, merged (in order) into as few as fit in `maxRows`. */
  #takeWaiting(): Batch<T> {
    const { batch: first, mergeable } = this.#waiting.shift()!;
    if (!mergeable || this.#waiting.length === 0 || first.records.length >= this.maxRows) return first;
    const records = [...first.records];
    let closedAt = first.closedAt;
    while (this.#waiting.length > 0 && this.#waiting[0]!.mergeable && records.length + this.#waiting[0]!.batch.records.length <= this.maxRows) {
      const next = this.#waiting.shift()!.batch;
      for (const record of next.records) records.push(record);
      closedAt = next.closedAt;
    }
    return { kind: 'batch', records, openedAt: first.openedAt, closedAt };
  }


  #start(batch: Batch<T>): void {
    this.#active += 1;
    const slot: { output: Envelope<B>[] | undefined } = { output: undefined };
    this.#running.push(slot);
    this.score(batch).then(
      (output) => {
        slot.output = output;
        this.#active -= 1;
        if (this.#waiting.length > 0) this.#start(this.#takeWaiting());
        this.#flush();
      },
      (error: unknown) => {
        if (this.#closed) return;
        this.#closed = true;
        this.subscriber.error(error instanceof StageError ? error : new StageError(this.stage, batch.records[0]?.position, error));
      },
    );
  }

  #flush(): void {
    while (this.#running.length > 0 && this.#running[0]!.output !== undefined) {
      for (const record of this.#running.shift()!.output!) this.subscriber.next(record);
    }
    if (this.#inputDone && this.#running.length === 0 && this.#waiting.length === 0 && !this.#closed) {
      this.#closed = true;
      this.subscriber.complete();
    }
  }
}
