export { DriftWindow, type DriftColumn, type DriftResult, type DriftWindowSnapshot } from './driftWindow.ts';
export { InvalidHistogramError } from './errors.ts';
export { BinCounts, binIndex, checkHistogram, type ReferenceHistogram } from './histogram.ts';
export { ksDistance } from './ks.ts';
export { PSI_ALERT_THRESHOLD, PSI_EPSILON, psi } from './psi.ts';
