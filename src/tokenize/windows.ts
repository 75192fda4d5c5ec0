/**
 * How a passage longer than the model's window is split: overlapping token windows, the query repeated in each.
 * `maxChunks: 1` keeps the single truncated window every pair had before windows existed.
 */
export interface ChunkSettings {
  /** Most windows per passage; tokens past the last one are dropped. */
  maxChunks: number;
  /** Passage tokens per window; `undefined` uses all the room the query leaves. */
  chunkTokens: number | undefined;
  /** Tokens from one window's start to the next; `undefined` is half a window, so neighbours overlap by half. */
  strideTokens: number | undefined;
}

/** One window per passage: truncation, as a pair has always been encoded. */
export const SINGLE_WINDOW: ChunkSettings = Object.freeze({
  maxChunks: 1,
  chunkTokens: undefined,
  strideTokens: undefined,
});

/**
 * The [start, end) token ranges of a passage's windows, given the room one window has for it. The last window ends
 * at the passage's end or is the `maxChunks`-th; `complete` says whether every token was covered.
 */
export function passageWindows(
  passageLength: number,
  room: number,
  settings: ChunkSettings,
): { ranges: [number, number][]; complete: boolean } {
  const width = Math.max(1, Math.min(settings.chunkTokens ?? room, room));
  const stride = strideFor(width, settings);
  const ranges: [number, number][] = [];
  for (let start = 0; ; start += stride) {
    const end = Math.min(start + width, passageLength);
    ranges.push([start, end]);
    if (end >= passageLength) return { ranges, complete: true };
    if (ranges.length >= settings.maxChunks) return { ranges, complete: false };
  }
}

/** How many passage tokens the windows can reach at most: encoding stops a little past it. */
export function tokensNeeded(budget: number, settings: ChunkSettings): number {
  const width = Math.min(settings.chunkTokens ?? budget, budget);
  return (settings.maxChunks - 1) * strideFor(width, settings) + budget;
}

// A stride longer than the window would skip the tokens between windows and still call the passage covered; it is
// cut to the window (the room left by a long query can make a given stride too long only at run time).
function strideFor(width: number, settings: ChunkSettings): number {
  return Math.min(settings.strideTokens ?? Math.max(1, Math.floor(width / 2)), Math.max(1, width));
}
