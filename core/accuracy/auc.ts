/**
 * Exact ROC AUC of (score, label) pairs by the rank sum (Mann–Whitney U): the share of
 * (positive, negative) pairs in which the positive scores higher, a tie counting one half.
 * O(n log n) for the sort. NaN when either class is absent (AUC is undefined then, not 0.5).
 *
 * @example
 * rocAuc([0.9, 0.2, 0.6], [1, 0, 0]); // 1: the one positive outscores both negatives
 * rocAuc([0.5, 0.5], [1, 0]);         // 0.5: a tie
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    // A run of equal scores shares the mean of its 1-based ranks start+1 .. end.
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const meanRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        positiveRankSum += meanRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
