import { DriftWindow, PSI_ALERT_THRESHOLD, type DriftColumn, type DriftResult, type DriftWindowSnapshot } from '../../core/drift/index.ts';
import { InvalidOptionError } from '../../core/errors.ts';
import { ScopedWindows } from './scopedWindows.ts';

/** PSI thresholds above which a column counts as drifted in a window's report. */
export interface DriftThresholds {
  /** For every column without one of its own. Default 0.2 (the usual "significant shift"). */
  readonly psi?: number;
  /** Per column (a feature name, or `score`), e.g. for features known to move on a healthy stream. */
  readonly columns?: Readonly<Record<string, number>>;
}

/** The drift of one window: what `driftMonitor` reports and the `drift.window` event carries. */
export interface DriftReport {
  readonly model: string;
  readonly start: number;
  readonly end: number;
  readonly records: number;
  readonly features: readonly DriftResult[];
  readonly score: DriftResult;
  /** Columns above their threshold; empty when the window had fewer than `minRecords` rows. */
  readonly drifted: readonly string[];
}

/**
 * The counts of the open drift window, one `DriftWindow` per source partition (so checkpoints and
 * partition hand-over carry them per partition), and the report when the window closes.
 *
 * @example
 * const counts = new DriftCounts(driftColumns(manifest), {}, 100);
 * counts.add('transactions/0', [...features, score]);
 * counts.close('fraud@1', start, end);
 */
export class DriftCounts {
  readonly #columns: readonly DriftColumn[];
  readonly #thresholds: number[];
  readonly #minRecords: number;
  readonly #windows: ScopedWindows<DriftWindow, DriftWindowSnapshot>;
  #lastScope: string | undefined;
  #lastWindow: DriftWindow | undefined;

  constructor(columns: readonly DriftColumn[], thresholds: DriftThresholds, minRecords: number) {
    this.#columns = columns;
    const names = new Set(columns.map((column) => column.name));
    for (const name of Object.keys(thresholds.columns ?? {})) {
      if (!names.has(name)) throw new InvalidOptionError(`drift threshold for ${name}: the model has no such column (columns: ${[...names].join(', ')})`);
    }
    this.#thresholds = columns.map((column) => checkThreshold(column.name, thresholds.columns?.[column.name] ?? thresholds.psi ?? PSI_ALERT_THRESHOLD));
    this.#minRecords = minRecords;
    new DriftWindow(columns); // checks the histograms once, here
    this.#windows = new ScopedWindows(
      () => new DriftWindow(columns),
      (window) => window.snapshot(),
      (window, saved) => window.restore(saved),
    );
  }

  /** Adds one row (features then score) to a partition's counts. */
  add(scope: string, row: ArrayLike<number>): void {
    // Consecutive records of one partition skip the map lookup.
    if (scope !== this.#lastScope || this.#lastWindow === undefined) {
      this.#lastScope = scope;
      this.#lastWindow = this.#windows.get(scope);
    }
    this.#lastWindow.add(row);
  }

  /** The report of the window over all partitions; then the next window starts empty. */
  close(model: string, start: number, end: number): DriftReport {
    const combined = new DriftWindow(this.#columns);
    const sums = this.#columns.map((column) => ({ name: column.name, counts: new Array<number>(column.reference.proportions.length).fill(0), missing: 0 }));
    for (const window of this.#windows.values()) {
      window.snapshot().columns.forEach((column, i) => {
        const sum = sums[i]!;
        column.counts.forEach((count, bin) => (sum.counts[bin]! += count));
        sum.missing += column.missing;
      });
    }
    combined.restore({ columns: sums });
    this.clear();
    const results = combined.result();
    const score = results[results.length - 1]!;
    const records = score.count + score.missing;
    const drifted = records < this.#minRecords ? [] : results.filter((result, i) => result.psi > this.#thresholds[i]!).map((result) => result.name);
    return { model, start, end, records, features: results.slice(0, -1), score, drifted };
  }

  /** Rows in the open window (all partitions). */
  get records(): number {
    let total = 0;
    for (const window of this.#windows.values()) {
      const score = window.result().at(-1)!;
      total += score.count + score.missing;
    }
    return total;
  }

  clear(): void {
    this.#windows.clear();
    this.#lastScope = undefined;
    this.#lastWindow = undefined;
  }

  snapshot(scopes?: Iterable<string>): Record<string, DriftWindowSnapshot> {
    return this.#windows.snapshot(scopes);
  }

  restore(saved: Readonly<Record<string, DriftWindowSnapshot>>): void {
    this.#windows.restore(saved);
    this.#lastWindow = undefined;
  }

  dropScope(scope: string): void {
    this.#windows.dropScope(scope);
    this.#lastWindow = undefined;
  }
}

function checkThreshold(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidOptionError(`drift threshold for ${name} must be a positive PSI such as 0.2 (got ${String(value)})`);
  return value;
}
