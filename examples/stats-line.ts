import type { RerankStats } from '../src/index.js';

/** One line per reranking call, for the examples' --stats flag. */
export function statsLine(s: RerankStats): string {
  const ms = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(1));
  return (
    `  stats: ${s.reranked}/${s.documents} reranked, ${s.pairs ?? '-'} pairs (${s.truncatedPairs ?? '-'} truncated), ` +
    `${s.chunks ?? '-'} windows, ${s.paddedTokens ?? '-'} padded tokens; ms: load ${ms(s.loadMs)}, ` +
    `queued ${ms(s.queuedMs)}, tokenize ${ms(s.tokenizeMs)}, inference ${ms(s.inferenceMs)}, total ${ms(s.totalMs)}` +
    (s.fallback === undefined ? '' : `; fell back: ${s.fallback.message}`)
  );
}
