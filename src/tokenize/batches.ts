/**
 * Groups pair indices into batches of similar length, longest first, so padding stays small. A batch holds at most
 * `batchSize` pairs and at most `maxTokens` padded tokens (pairs times its longest pair), though always one pair.
 * The caller restores the original order through the indices; ties keep input order.
 */
export function planBatches(
  lengths: readonly number[],
  batchSize: number,
  maxTokens = Number.POSITIVE_INFINITY,
): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => (lengths[b] as number) - (lengths[a] as number) || a - b);
  const batches: number[][] = [];
  let start = 0;
  while (start < order.length) {
    const width = Math.max(1, lengths[order[start] as number] as number);
    const rows = Math.max(1, Math.min(batchSize, Math.floor(maxTokens / width)));
    batches.push(order.slice(start, start + rows));
    start += rows;
  }
  return batches;
}
