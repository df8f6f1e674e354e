/**
 * Training/serving skew: rows served online (logged by the job) against the offline recomputation
 * of the same events, per feature, with Chronon's online/offline consistency metrics: mismatch
 * rate, missing rate and mean relative difference.
 */
import type { FeatureRow, FeatureValue, FeatureViewInfo } from './featureView.ts';

/** Options of {@link skewCheck}. */
export interface SkewCheckOptions {
  /** Largest mismatch rate per feature that still passes. Default 0 (the same definition gives the same bits). */
  maxMismatchRate?: number;
  /** Largest missing rate per feature that still passes. Default 0. */
  maxMissingRate?: number;
  /** Numbers whose relative difference is at most this count as equal. Default 0: bitwise. */
  relativeTolerance?: number;
}

/** The consistency metrics of one feature. */
export interface FeatureSkew {
  feature: string;
  /** Served values that had an offline value to compare with. */
  compared: number;
  mismatches: number;
  /** mismatches / compared (0 when nothing was compared). */
  mismatchRate: number;
  /** Served rows whose offline row or value (or served value) was missing. */
  missing: number;
  /** missing / served rows. */
  missingRate: number;
  /** Mean over compared numbers of |a - b| / max(|a|, |b|) (0 when both are 0). */
  meanRelativeDiff: number;
  passed: boolean;
}

/** The outcome of a skew check. */
export interface SkewReport {
  view: string;
  servedRows: number;
  /** Served rows with an offline row at the same entity and event time. */
  matchedRows: number;
  features: FeatureSkew[];
  passed: boolean;
}

function same(a: FeatureValue, b: FeatureValue, tolerance: number): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'number' || typeof b !== 'number' || tolerance === 0) return false;
  return relativeDiff(a, b) <= tolerance;
}

function relativeDiff(a: number, b: number): number {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  if (scale === 0) return 0;
  const d = Math.abs(a - b) / scale;
  return d === d ? d : 1; // NaN against a number: as different as it gets
}

/**
 * Compares served rows with offline rows of the same view, matched by entity and event time.
 *
 * @example
 * const report = skewCheck(fraudFeatures, servedRows, computeRows(fraudFeatures, events));
 * report.passed; // true when no feature mismatches or goes missing beyond the thresholds
 */
export function skewCheck(view: FeatureViewInfo, served: readonly FeatureRow[], offline: readonly FeatureRow[], options: SkewCheckOptions = {}): SkewReport {
  const maxMismatch = options.maxMismatchRate ?? 0;
  const maxMissing = options.maxMissingRate ?? 0;
  const tolerance = options.relativeTolerance ?? 0;
  const byKey = new Map<string, FeatureRow>();
  // JSON of the pair is a key that no entity text can forge.
  for (const row of offline) if (row.view === view.name) byKey.set(JSON.stringify([row.entity, row.eventTime]), row);
  const rows = served.filter((r) => r.view === view.name);
  let matched = 0;
  const stats = view.features.map((f) => ({ feature: f.name, compared: 0, mismatches: 0, missing: 0, diffSum: 0, numbers: 0 }));
  for (const row of rows) {
    const twin = byKey.get(JSON.stringify([row.entity, row.eventTime]));
    if (twin !== undefined) matched++;
    view.features.forEach((f, i) => {
      const s = stats[i]!;
      const online = row.values[f.name];
      const recomputed = twin?.values[f.name];
      if (online === undefined || recomputed === undefined) {
        s.missing++;
        return;
      }
      s.compared++;
      if (!same(online, recomputed, tolerance)) s.mismatches++;
      if (typeof online === 'number' && typeof recomputed === 'number') {
        s.diffSum += relativeDiff(online, recomputed);
        s.numbers++;
      }
    });
  }
  const features = stats.map((s): FeatureSkew => {
    const mismatchRate = s.compared === 0 ? 0 : s.mismatches / s.compared;
    const missingRate = rows.length === 0 ? 0 : s.missing / rows.length;
    return {
      feature: s.feature,
      compared: s.compared,
      mismatches: s.mismatches,
      mismatchRate,
      missing: s.missing,
      missingRate,
      meanRelativeDiff: s.numbers === 0 ? 0 : s.diffSum / s.numbers,
      passed: mismatchRate <= maxMismatch && missingRate <= maxMissing,
    };
  });
  return { view: view.name, servedRows: rows.length, matchedRows: matched, features, passed: rows.length > 0 && features.every((f) => f.passed) };
}

/**
 * The report as text lines, one per feature, for a terminal.
 *
 * @example
 * for (const line of formatSkewReport(report)) console.log(line);
 */
export function formatSkewReport(report: SkewReport): string[] {
  const lines = [`skew check of view ${report.view}: ${report.servedRows} served rows, ${report.matchedRows} matched offline: ${report.passed ? 'PASS' : 'FAIL'}`];
  const width = Math.max(...report.features.map((f) => f.feature.length), 7);
  lines.push(`${'feature'.padEnd(width)}  mismatch  missing   mean rel diff`);
  for (const f of report.features) {
    const pct = (x: number): string => `${(x * 100).toFixed(2)}%`.padStart(8);
    lines.push(`${f.feature.padEnd(width)}  ${pct(f.mismatchRate)}  ${pct(f.missingRate)}  ${f.meanRelativeDiff.toExponential(2).padStart(13)}${f.passed ? '' : '  FAIL'}`);
  }
  if (report.servedRows === 0) lines.push('no served rows of this view: nothing to check (log served rows first)');
  return lines;
}
