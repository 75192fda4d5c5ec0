/**
 * Position sensitivity of a scorer: the same answer text placed at several offsets of a window of unrelated text,
 * scored each time. A reranker that reads for meaning gives it the same score wherever it sits; the spread (highest
 * minus lowest score of one answer over its offsets) measures how far it does not.
 */
import { AbortError, InvalidArgumentError } from '../src/index.js';
import type { Scorer } from '../src/index.js';
import { type Dataset, passageText } from './datasets.js';

/** Options for {@link buildPositionProbes} and {@link measurePosition}. */
export interface PositionOptions {
  /** Offsets tried per answer, evenly spaced from the window's start (0 filler words before) to its end. @default 5 */
  offsets?: number;
  /**
   * Words of filler around the answer. Keep query + answer + filler inside the model's window (about 1.3 tokens a
   * word for English), or the last offsets measure truncation rather than position.
   * @default 60
   */
  fillerWords?: number;
  /** Longest answer in words: the judged passage's leading sentences up to this many. @default 60 */
  maxAnswerWords?: number;
}

/** One answer of one query in every window it is scored in. */
export interface PositionProbe {
  queryId: string;
  query: string;
  /** The answer text, whole, as it appears in each window. */
  answer: string;
  /** Filler words before the answer, one per window. */
  offsets: number[];
  windows: string[];
}

/** The result of {@link measurePosition}. Plain data. */
export interface PositionReport {
  /** Answers measured (one per query that has a judged passage short enough). */
  probes: number;
  offsets: number;
  fillerWords: number;
  /** Mean, median and largest spread (max - min score of an answer over its offsets). */
  meanSpread: number;
  medianSpread: number;
  maxSpread: number;
  /** Mean score of the answers at each offset, start of the window first: shows which end is favoured. */
  meanScoreByOffset: number[];
  /** Queries skipped: no judged passage, or its first sentence alone is longer than `maxAnswerWords`. */
  skipped: string[];
  perQuery: Record<string, { spread: number; scores: number[] }>;
}

const SENTENCE_END = /(?<=[.!?])\s+/;

/** Highest score minus lowest; 0 for fewer than two scores. */
export function spread(scores: readonly number[]): number {
  if (scores.length < 2) return 0;
  return Math.max(...scores) - Math.min(...scores);
}

/** The leading whole sentences of `text` that fit in `maxWords` words, or undefined when the first one does not. */
export function leadingSentences(text: string, maxWords: number): string | undefined {
  const kept: string[] = [];
  let words = 0;
  for (const sentence of text.trim().split(SENTENCE_END)) {
    const n = sentence.split(/\s+/).filter(Boolean).length;
    if (words + n > maxWords) break;
    kept.push(sentence);
    words += n;
  }
  return kept.length ? kept.join(' ') : undefined;
}

/** Word offsets 0 .. fillerWords, `count` of them evenly spaced (rounded), without repeats. */
export function offsetsFor(count: number, fillerWords: number): number[] {
  if (count === 1) return [0];
  return [...new Set(Array.from({ length: count }, (_, i) => Math.round((i * fillerWords) / (count - 1))))];
}

/**
 * One probe per query: its answer is the leading sentences of its best-judged passage (grade, then id, descending);
 * the filler is the text of other queries' best passages that this query has no judgment for, in query order after
 * it (so it is real prose on other topics, the same for every offset). Deterministic.
 */
export function buildPositionProbes(
  dataset: Dataset,
  queryIds: readonly string[],
  options: PositionOptions = {},
): { probes: PositionProbe[]; skipped: string[] } {
  const count = positiveInt('offsets', options.offsets ?? 5);
  const fillerWords = positiveInt('fillerWords', options.fillerWords ?? 60);
  const maxAnswerWords = positiveInt('maxAnswerWords', options.maxAnswerWords ?? 60);
  const best = new Map<string, string>();
  for (const [qid, judged] of dataset.qrels) {
    const top = [...judged]
      .filter(([id, grade]) => grade > 0 && dataset.corpus.has(id))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0))[0];
    if (top) best.set(qid, top[0]);
  }
  const order = [...best.keys()];
  const probes: PositionProbe[] = [];
  const skipped: string[] = [];
  for (const qid of queryIds) {
    const query = dataset.queries.get(qid);
    const docId = best.get(qid);
    const answer = docId && leadingSentences(passageText(dataset.corpus.get(docId)!), maxAnswerWords);
    if (query === undefined || !answer) {
      skipped.push(qid);
      continue;
    }
    const judged = dataset.qrels.get(qid)!;
    const filler: string[] = [];
    const start = order.indexOf(qid);
    for (let i = 1; i < order.length && filler.length < fillerWords; i++) {
      const other = best.get(order[(start + i) % order.length]!)!;
      if (judged.has(other)) continue;
      filler.push(...passageText(dataset.corpus.get(other)!).split(/\s+/).filter(Boolean));
    }
    if (filler.length < fillerWords) {
      skipped.push(qid);
      continue;
    }
    const words = filler.slice(0, fillerWords);
    const offsets = offsetsFor(count, fillerWords);
    const windows = offsets.map((at) => [...words.slice(0, at), answer, ...words.slice(at)].join(' '));
    probes.push({ queryId: qid, query, answer, offsets, windows });
  }
  return { probes, skipped };
}

/** Scores every window of every probe with `scorer.score` and summarises the spreads. */
export async function measurePosition(
  scorer: Scorer,
  probes: readonly PositionProbe[],
  options: { skipped?: string[]; fillerWords: number; batchSize?: number; signal?: AbortSignal },
): Promise<PositionReport> {
  if (probes.length === 0)
    throw new InvalidArgumentError('probes', 'no query has a judged passage to place: nothing to measure');
  const perQuery: PositionReport['perQuery'] = {};
  const width = probes[0]!.offsets.length;
  const sums = new Array<number>(width).fill(0);
  const spreads: number[] = [];
  for (const probe of probes) {
    if (options.signal?.aborted) throw new AbortError();
    const scores = await scorer.score(
      probe.windows.map((w) => [probe.query, w] as [string, string]),
      { batchSize: options.batchSize, signal: options.signal },
    );
    if (scores.length !== probe.windows.length)
      throw new InvalidArgumentError(
        'scorer',
        `score() returned ${scores.length} scores for ${probe.windows.length} pairs`,
      );
    scores.forEach((s, i) => (sums[i]! += s));
    const s = spread(scores);
    spreads.push(s);
    perQuery[probe.queryId] = { spread: s, scores };
  }
  const sorted = [...spreads].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return {
    probes: probes.length,
    offsets: width,
    fillerWords: options.fillerWords,
    meanSpread: spreads.reduce((a, b) => a + b, 0) / spreads.length,
    medianSpread: sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2,
    maxSpread: sorted[sorted.length - 1]!,
    meanScoreByOffset: sums.map((s) => s / probes.length),
    skipped: options.skipped ?? [],
    perQuery,
  };
}

/** The lines the eval CLI prints for a position report. */
export function formatPosition(report: PositionReport): string {
  const f = (x: number) => x.toFixed(4);
  return (
    [
      `position: the answer at ${report.offsets} offsets of ${report.fillerWords} filler words, ${report.probes} queries` +
        (report.skipped.length ? ` (${report.skipped.length} skipped: no short judged passage)` : ''),
      `  score spread (max - min over offsets): mean ${f(report.meanSpread)}, median ${f(report.medianSpread)}, max ${f(report.maxSpread)}`,
      `  mean score by offset, start to end: ${report.meanScoreByOffset.map(f).join(' ')}`,
    ].join('\n') + '\n'
  );
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError(name, `must be a positive integer, got ${value}`);
  return value;
}
