import { InvalidOptionError } from '../errors.ts';
import { rocAuc } from './auc.ts';

/** Online accuracy of one window of labelled decisions. */
export interface AccuracyResult {
  /** Labelled pairs in the window. */
  readonly count: number;
  readonly positives: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly falseNegatives: number;
  readonly trueNegatives: number;
  /** tp / (tp + fp); NaN when nothing was flagged (undefined, not 0). */
  readonly precision: number;
  /** tp / (tp + fn); NaN when the window holds no positive. */
  readonly recall: number;
  /** Exact rank-sum ROC AUC; NaN unless both classes are present. */
  readonly auc: number;
}

/** The pairs of a window, to carry it across a restart. */
export interface AccuracyWindowSnapshot {
  readonly scores: number[];
  readonly labels: number[];
}

/**
 * Accumulates (score, label) pairs of one window — a decision joined with its late label — and
 * gives precision and recall at the threshold (flagged = score >= threshold, as the job decides)
 * and the exact AUC. It keeps the pairs (two numbers each) because exact AUC needs their ranks:
 * 100,000 labelled pairs per window hold about 1.6 MB. Pure: the caller ends windows.
 *
 * @example
 * const w = new AccuracyWindow({ threshold: 0.5 });
 * w.add(0.9, 1); w.add(0.7, 0); w.add(0.2, 0);
 * w.result().precision; // 0.5
 */
export class AccuracyWindow {
  readonly threshold: number;
  #scores: number[] = [];
  #labels: number[] = [];

  constructor(options: { threshold: number }) {
    if (!(options.threshold >= 0 && options.threshold <= 1)) {
      throw new InvalidOptionError(`threshold must be a number in [0, 1] (got ${String(options.threshold)})`);
    }
    this.threshold = options.threshold;
  }

  /** Adds one labelled decision. `label` is 1 (fraud) or 0; a non-finite score is refused. */
  add(score: number, label: number): void {
    if (!Number.isFinite(score)) throw new InvalidOptionError(`score must be a finite number (got ${String(score)})`);
    if (label !== 0 && label !== 1) throw new InvalidOptionError(`label must be 0 or 1 (got ${String(label)})`);
    this.#scores.push(score);
    this.#labels.push(label);
  }

  get count(): number {
    return this.#scores.length;
  }

  result(): AccuracyResult {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let tn = 0;
    for (let i = 0; i < this.#scores.length; i++) {
      const flagged = this.#scores[i]! >= this.threshold;
      if (this.#labels[i] === 1) {
        if (flagged) tp++;
        else fn++;
      } else if (flagged) fp++;
      else tn++;
    }
    return {
      count: this.#scores.length,
      positives: tp + fn,
      truePositives: tp,
      falsePositives: fp,
      falseNegatives: fn,
      trueNegatives: tn,
      precision: tp + fp === 0 ? Number.NaN : tp / (tp + fp),
      recall: tp + fn === 0 ? Number.NaN : tp / (tp + fn),
      auc: rocAuc(this.#scores, this.#labels),
    };
  }

  /** Starts the next window. */
  reset(): void {
    this.#scores = [];
    this.#labels = [];
  }

  snapshot(): AccuracyWindowSnapshot {
    return { scores: [...this.#scores], labels: [...this.#labels] };
  }

  restore(snapshot: AccuracyWindowSnapshot): void {
    if (snapshot.scores.length !== snapshot.labels.length) {
      throw new InvalidOptionError(`AccuracyWindow snapshot has ${snapshot.scores.length} scores but ${snapshot.labels.length} labels: it is not a snapshot of this window`);
    }
    this.reset();
    snapshot.scores.forEach((score, i) => this.add(score, snapshot.labels[i]!));
  }
}
