import { InvalidOptionError } from '../errors.ts';
import { BinCounts, checkHistogram, type ReferenceHistogram } from './histogram.ts';
import { ksDistance } from './ks.ts';
import { psi } from './psi.ts';

/** One monitored column (a feature, or the score) and its training distribution. */
export interface DriftColumn {
  readonly name: string;
  readonly reference: ReferenceHistogram;
}

/** Drift of one column over the values added since the last reset. */
export interface DriftResult {
  readonly name: string;
  /** Population stability index against the reference (NaN when `count` is 0). */
  readonly psi: number;
  /** Max CDF distance at the reference edges (NaN when `count` is 0). */
  readonly ks: number;
  /** Finite values binned. */
  readonly count: number;
  /** Non-finite values seen (not binned). */
  readonly missing: number;
}

/** The window's counts, enough to restore it exactly after a restart. */
export interface DriftWindowSnapshot {
  readonly columns: readonly { name: string; counts: number[]; missing: number }[];
}

/**
 * Accumulates one window of rows and reports PSI and the KS-type distance of every column
 * against its reference. Pure and synchronous: the caller decides when a window ends (a tumbling
 * window operator calls `result()` then `reset()`), so state is only counts — O(bins) memory
 * per column whatever the window's size.
 *
 * @example
 * const window = new DriftWindow([{ name: 'amount', reference: { edges: [0], proportions: [0.5, 0.5] } }]);
 * window.add([-1]); window.add([2]);
 * window.result()[0].psi; // 0
 */
export class DriftWindow {
  readonly #columns: readonly DriftColumn[];
  readonly #counts: BinCounts[];

  constructor(columns: readonly DriftColumn[]) {
    if (columns.length === 0) throw new InvalidOptionError('DriftWindow needs at least one column');
    const names = new Set<string>();
    for (const column of columns) {
      if (names.has(column.name)) throw new InvalidOptionError(`DriftWindow column ${column.name} is given twice`);
      names.add(column.name);
      checkHistogram(column.name, column.reference);
    }
    this.#columns = columns;
    this.#counts = columns.map((column) => new BinCounts(column.reference.edges));
  }

  /** Column names in the order `add` expects values. */
  get names(): string[] {
    return this.#columns.map((column) => column.name);
  }

  /** Adds one row: one value per column, in column order. */
  add(values: ArrayLike<number>): void {
    if (values.length !== this.#counts.length) {
      throw new InvalidOptionError(`DriftWindow.add needs ${this.#counts.length} values, one per column (got ${values.length})`);
    }
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i]!.add(values[i]!);
  }

  /**
   * Adds a batch stored row-major, e.g. the `[batch, features]` tensor sent to the model, so a
   * batch is counted without copying rows out.
   */
  addBatch(flat: ArrayLike<number>, rows: number): void {
    const width = this.#counts.length;
    if (flat.length !== rows * width) {
      throw new InvalidOptionError(`DriftWindow.addBatch needs ${rows} x ${width} values (got ${flat.length})`);
    }
    for (let r = 0; r < rows; r++) {
      const offset = r * width;
      for (let i = 0; i < width; i++) this.#counts[i]!.add(flat[offset + i]!);
    }
  }

  /** Drift of every column over the rows added since the last reset. */
  result(): DriftResult[] {
    return this.#columns.map((column, i) => {
      const counts = this.#counts[i]!;
      return {
        name: column.name,
        psi: psi(column.reference, counts.counts),
        ks: ksDistance(column.reference, counts.counts),
        count: counts.total,
        missing: counts.missing,
      };
    });
  }

  /** Starts the next window. */
  reset(): void {
    for (const counts of this.#counts) counts.reset();
  }

  snapshot(): DriftWindowSnapshot {
    return {
      columns: this.#columns.map((column, i) => ({ name: column.name, counts: [...this.#counts[i]!.counts], missing: this.#counts[i]!.missing })),
    };
  }

  /** Restores counts taken by `snapshot()` from a window with the same columns and bins. */
  restore(snapshot: DriftWindowSnapshot): void {
    if (snapshot.columns.length !== this.#columns.length) {
      throw new InvalidOptionError(`DriftWindow snapshot has ${snapshot.columns.length} columns, the window has ${this.#columns.length}: restore it into a window built from the same model version`);
    }
    snapshot.columns.forEach((saved, i) => {
      const counts = this.#counts[i]!;
      if (saved.name !== this.#columns[i]!.name || saved.counts.length !== counts.counts.length) {
        throw new InvalidOptionError(`DriftWindow snapshot column ${saved.name} does not match column ${this.#columns[i]!.name}: restore it into a window built from the same model version`);
      }
      counts.counts.splice(0, counts.counts.length, ...saved.counts);
      counts.total = saved.counts.reduce((a, b) => a + b, 0);
      counts.missing = saved.missing;
    });
  }
}
