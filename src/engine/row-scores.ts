import { NonFiniteScoreError } from '../errors.js';
import type { ScoringStats } from '../types.js';

/** A row's score once activated; NaN or ±Infinity is refused, naming the pair. */
export function finiteScore(score: number, pair: number): number {
  if (!Number.isFinite(score)) {
    throw new NonFiniteScoreError(
      `The model returned ${score} for pair ${pair}. The weights may be broken, or an fp16 model overflowed: ` +
        "try variant 'fp32'.",
    );
  }
  return score;
}

/**
 * Each pair's score from the scores of its rows (one per window): the best window wins, the first on a tie, since
 * rows of one pair are adjacent and in window order. With `chunked`, `windows` names the winning window of every pair
 * that was split, and holds -1 for a pair scored whole: Cohere reports a chunk only for documents it split.
 */
export function bestWindows(
  rowScores: Float64Array,
  owners: readonly number[],
  rowWindows: readonly number[],
  pairs: number,
  chunked: boolean,
): { scores: Float64Array; windows: Int32Array | undefined } {
  const scores = new Float64Array(pairs).fill(Number.NEGATIVE_INFINITY);
  const windows = chunked ? new Int32Array(pairs) : undefined;
  const rowsPerPair = new Int32Array(pairs);
  rowScores.forEach((score, row) => {
    const owner = owners[row] as number;
    rowsPerPair[owner] = (rowsPerPair[owner] as number) + 1;
    if (score > (scores[owner] as number)) {
      scores[owner] = score;
      if (windows !== undefined) windows[owner] = rowWindows[row] as number;
    }
  });
  if (windows !== undefined) rowsPerPair.forEach((count, pair) => count === 1 && (windows[pair] = -1));
  return { scores, windows };
}

/** What scoring the rows of a request cost, for its stats. */
export interface RowCost {
  paddedTokens: number;
  tokenizeMs: number;
  inferenceMs: number;
}

/** A request's result from its rows' scores: each pair's best window, and the call's stats. */
export function pairResult(
  rowScores: Float64Array,
  encoded: { owners: readonly number[]; windows: readonly number[]; truncated: number },
  pairs: number,
  chunked: boolean,
  cost: RowCost,
): { scores: Float64Array; windows: Int32Array | undefined; stats: ScoringStats } {
  const { scores, windows } = bestWindows(rowScores, encoded.owners, encoded.windows, pairs, chunked);
  return {
    scores,
    windows,
    stats: { pairs, truncatedPairs: encoded.truncated, chunks: rowScores.length, queuedMs: 0, ...cost },
  };
}
