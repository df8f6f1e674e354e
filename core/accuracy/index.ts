export { AccuracyWindow, type AccuracyResult, type AccuracyWindowSnapshot } from './accuracyWindow.ts';
export { rocAuc } from './auc.ts';
