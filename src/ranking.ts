import type { RankResult } from './types.js';

/**
 * Scores in the caller's order to the best `topK`, best first; equal scores keep the caller's order. With `windows`
 * (the window each document's score came from, -1 for one that was not split), each split document's result says which
 * one in `chunk`.
 */
export function rankByScore(
  scores: readonly number[],
  topK: number = scores.length,
  windows?: ArrayLike<number>,
): RankResult[] {
  return scores
    .map((score, index): RankResult =>
      windows === undefined || (windows[index] as number) < 0
        ? { index, score }
        : { index, score, chunk: windows[index] as number },
    )
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, topK);
}
