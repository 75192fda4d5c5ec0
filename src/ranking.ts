import type { RankResult } from './types.js';

/** Scores in the caller's order to the best `topK`, best first; equal scores keep the caller's order. */
export function rankByScore(scores: readonly number[], topK: number = scores.length): RankResult[] {
  return scores
    .map((score, index) => ({ index, score }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, topK);
}
