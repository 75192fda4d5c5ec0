/**
 * How a (query, passage) pair is cut to fit `maxLength`.
 * - `longest_first`: tokens come off the longer side first, as Hugging Face `tokenizers` does; the query is only cut
 *   when both sides exceed half the budget.
 * - `only_second`: only the passage is cut; a query that alone overflows the budget is then cut too, so no input fails.
 */
export type TruncationStrategy = 'longest_first' | 'only_second';

/** Which end of a sequence loses tokens. Read from `tokenizer_config.json` (`truncation_side`). */
export type TruncationSide = 'right' | 'left';

/**
 * The lengths both sides keep, given a budget that already excludes special tokens.
 * `longest_first` follows the Rust `tokenizers` arithmetic exactly (not Python's one-token-at-a-time loop),
 * because that is what sentence-transformers runs through its fast tokenizer.
 */
export function pairLengths(
  queryLength: number,
  passageLength: number,
  budget: number,
  strategy: TruncationStrategy,
): [number, number] {
  const limit = Math.max(0, budget);
  if (queryLength + passageLength <= limit) return [queryLength, passageLength];

  if (strategy === 'only_second') {
    const passageKeeps = limit - queryLength;
    if (passageKeeps > 0) return [queryLength, passageKeeps];
    // The query alone fills the budget: fall back to splitting it rather than failing the call.
  }

  const swap = queryLength > passageLength;
  let shorter = swap ? passageLength : queryLength;
  let longer: number;
  longer = shorter > limit ? shorter : Math.max(shorter, limit - shorter);
  if (shorter + longer > limit) {
    shorter = Math.floor(limit / 2);
    longer = shorter + (limit % 2);
  }
  return swap ? [longer, shorter] : [shorter, longer];
}

/** Keep `length` ids from the side that truncation spares. Returns the input itself when nothing is cut. */
export function cut(ids: readonly number[], length: number, side: TruncationSide): readonly number[] {
  if (ids.length <= length) return ids;
  return side === 'right' ? ids.slice(0, length) : ids.slice(ids.length - length);
}
