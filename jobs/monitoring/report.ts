import type { AccuracyReport, DriftReport } from 'sluice/operators';

const fixed = (value: number, digits = 3) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

/**
 * One line per drift window on stderr: the score's PSI, the largest feature PSI, what drifted.
 *
 * @example
 * driftMonitor({ ..., onWindow: printDrift })
 */
export function printDrift(report: DriftReport): void {
  if (report.records === 0) return;
  const worst = [...report.features].sort((a, b) => (b.psi || 0) - (a.psi || 0))[0];
  const drifted = report.drifted.length === 0 ? 'nothing drifted' : `DRIFTED: ${report.drifted.join(', ')}`;
  process.stderr.write(`drift ${report.model}: ${report.records} rows, score PSI ${fixed(report.score.psi)}, max feature PSI ${fixed(worst?.psi ?? Number.NaN)} (${worst?.name ?? '–'}); ${drifted}\n`);
}

/**
 * One line per online-accuracy window on stderr.
 *
 * @example
 * onlineAccuracy({ ..., onWindow: printAccuracy })
 */
export function printAccuracy({ model, result }: AccuracyReport): void {
  if (result.count === 0) return;
  process.stderr.write(`online accuracy ${model}: ${result.count} labelled (${result.positives} fraud), precision ${fixed(result.precision)}, recall ${fixed(result.recall)}, AUC ${fixed(result.auc, 4)}\n`);
}
