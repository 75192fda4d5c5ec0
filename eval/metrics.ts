/**
 * Ranking metrics with trec_eval's semantics (usnistgov/trec_eval 9.x: `form_res_rels.c`,
 * `m_ndcg_cut.c`, `m_recip_rank.c`, `m_recall.c`), so numbers line up with published
 * results computed by trec_eval, pytrec_eval or Pyserini.
 *
 * - Ordering: trec_eval ignores the rank column of a run. It sorts each query's documents by
 *   score descending and breaks ties by document id **descending** (`comp_sim_docno` returns
 *   `strcmp(docno2, docno1)`). {@link compareTrec} does the same. Ids are compared by UTF-16
 *   code unit, which equals `strcmp` byte order for ASCII ids (all BEIR and MS MARCO ids).
 * - nDCG@k: gain = the graded judgment (linear), discount `log2(rank + 1)`. The ideal ranking is
 *   built from every judgment of the query with gain > 0, retrieved or not. Unjudged documents
 *   and judgments <= 0 give gain 0 but still occupy their rank.
 * - MRR@k and Recall@k are binary: relevant means judgment >= `relevanceThreshold` (trec_eval's
 *   `-l`). Recall's denominator counts every judged relevant document, retrieved or not.
 * - Which queries count: only those present in both the qrels and the run (trec_eval without
 *   `-c`). A judged query with no results is skipped, not scored 0. A query that is judged but
 *   has no relevant document still counts, scoring 0 on every measure, as in trec_eval.
 * - Duplicate documents within one query's results are an error, as in trec_eval.
 */
import { InvalidArgumentError } from '../src/index.js';

/** Judgments of one query: document id → graded relevance (higher is more relevant). */
export type Judgments = ReadonlyMap<string, number>;
/** Query id → its judgments. */
export type Qrels = ReadonlyMap<string, Judgments>;

/** One retrieved document and its retrieval score. */
export interface ScoredDoc {
  readonly id: string;
  readonly score: number;
}

/** Query id → its retrieved documents, in any order (scores decide, see {@link compareTrec}). */
export type Run = ReadonlyMap<string, readonly ScoredDoc[]>;

/** The three measures this module reports, for one query or averaged. */
export interface MetricValues {
  ndcg: number;
  mrr: number;
  recall: number;
}

/** Cutoffs and threshold used for a {@link MetricValues}. */
export interface MetricOptions {
  /**
   * Minimum judgment counted as relevant by MRR and Recall (trec_eval `-l`). nDCG always uses
   * the graded judgments. TREC DL passage convention: 2; binary collections: 1.
   * @default 1
   */
  relevanceThreshold?: number;
  /** @default 10 */
  ndcgCutoff?: number;
  /** @default 10 */
  mrrCutoff?: number;
  /** @default 100 */
  recallCutoff?: number;
}

/** Resolved {@link MetricOptions}, as stated in reports. */
export type MetricSettings = Required<MetricOptions>;

/** The result of {@link evaluateRankings}. */
export interface RunEvaluation {
  settings: MetricSettings;
  /** Arithmetic mean over the evaluated queries. */
  mean: MetricValues;
  /** Per evaluated query, in the order the rankings were given. */
  perQuery: Map<string, MetricValues>;
  /** Queries in the run but not in the qrels: ignored. */
  unjudged: string[];
  /** Queries in the qrels but not in the run: ignored (trec_eval without `-c`). */
  unretrieved: string[];
  /** Evaluated queries without any judgment >= threshold: they score 0 on MRR and Recall. */
  withoutRelevant: string[];
}

/** trec_eval's result order: score descending, then document id descending. */
export function compareTrec(a: ScoredDoc, b: ScoredDoc): number {
  if (a.score !== b.score) return a.score > b.score ? -1 : 1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** The document ids of `docs` in trec_eval order. Throws on a duplicate id. */
export function trecRanking(docs: readonly ScoredDoc[], queryId = '?'): string[] {
  const ids = [...docs].sort(compareTrec).map((d) => d.id);
  if (new Set(ids).size !== ids.length) {
    const seen = new Set<string>();
    const dup = ids.find((id) => (seen.has(id) ? true : (seen.add(id), false)));
    throw new InvalidArgumentError('run', `query ${queryId} lists document ${dup} more than once`);
  }
  return ids;
}

function checkCutoff(name: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(name, `must be a positive integer, got ${k}`);
}

/** nDCG@k of one ranking (ids best first) against one query's judgments. */
export function ndcgAt(ranking: readonly string[], judgments: Judgments, k: number): number {
  checkCutoff('k', k);
  let dcg = 0;
  const depth = Math.min(k, ranking.length);
  for (let i = 0; i < depth; i++) {
    const gain = judgments.get(ranking[i]!) ?? 0;
    if (gain > 0) dcg += gain / Math.log2(i + 2);
  }
  const ideal = [...judgments.values()].filter((g) => g > 0).sort((a, b) => b - a);
  let idcg = 0;
  for (let i = 0; i < Math.min(k, ideal.length); i++) idcg += ideal[i]! / Math.log2(i + 2);
  // trec_eval leaves DCG undivided when the ideal is 0; DCG is then 0 as well.
  return idcg > 0 ? dcg / idcg : 0;
}

/** Reciprocal rank of the first document with judgment >= threshold within the top k, else 0. */
export function reciprocalRankAt(ranking: readonly string[], judgments: Judgments, k: number, threshold = 1): number {
  checkCutoff('k', k);
  const depth = Math.min(k, ranking.length);
  for (let i = 0; i < depth; i++) {
    if ((judgments.get(ranking[i]!) ?? -Infinity) >= threshold) return 1 / (i + 1);
  }
  return 0;
}

/** Share of the judged relevant documents (judgment >= threshold) found in the top k; 0 when none is judged relevant. */
export function recallAt(ranking: readonly string[], judgments: Judgments, k: number, threshold = 1): number {
  checkCutoff('k', k);
  let relevant = 0;
  for (const g of judgments.values()) if (g >= threshold) relevant++;
  if (relevant === 0) return 0;
  let found = 0;
  const depth = Math.min(k, ranking.length);
  for (let i = 0; i < depth; i++) if ((judgments.get(ranking[i]!) ?? -Infinity) >= threshold) found++;
  return found / relevant;
}

/** Fills in the defaults of {@link MetricOptions} and checks them. */
export function metricSettings(options: MetricOptions = {}): MetricSettings {
  const settings: MetricSettings = {
    relevanceThreshold: options.relevanceThreshold ?? 1,
    ndcgCutoff: options.ndcgCutoff ?? 10,
    mrrCutoff: options.mrrCutoff ?? 10,
    recallCutoff: options.recallCutoff ?? 100,
  };
  if (!Number.isFinite(settings.relevanceThreshold)) {
    throw new InvalidArgumentError('relevanceThreshold', `must be a finite number, got ${settings.relevanceThreshold}`);
  }
  checkCutoff('ndcgCutoff', settings.ndcgCutoff);
  checkCutoff('mrrCutoff', settings.mrrCutoff);
  checkCutoff('recallCutoff', settings.recallCutoff);
  return settings;
}

/** The three measures for one ranking. */
export function queryMetrics(ranking: readonly string[], judgments: Judgments, settings: MetricSettings): MetricValues {
  return {
    ndcg: ndcgAt(ranking, judgments, settings.ndcgCutoff),
    mrr: reciprocalRankAt(ranking, judgments, settings.mrrCutoff, settings.relevanceThreshold),
    recall: recallAt(ranking, judgments, settings.recallCutoff, settings.relevanceThreshold),
  };
}

/**
 * Evaluates rankings that are already in their final order (ids best first), e.g. a reranker's
 * output. Use {@link evaluateRun} for scored runs, which applies trec_eval's ordering first.
 * Throws when no query has both judgments and a ranking, as trec_eval does.
 */
export function evaluateRankings(
  qrels: Qrels,
  rankings: ReadonlyMap<string, readonly string[]>,
  options: MetricOptions = {},
): RunEvaluation {
  const settings = metricSettings(options);
  const perQuery = new Map<string, MetricValues>();
  const unjudged: string[] = [];
  const withoutRelevant: string[] = [];
  for (const [qid, ranking] of rankings) {
    const judgments = qrels.get(qid);
    if (!judgments) {
      unjudged.push(qid);
      continue;
    }
    perQuery.set(qid, queryMetrics(ranking, judgments, settings));
    if (![...judgments.values()].some((g) => g >= settings.relevanceThreshold)) withoutRelevant.push(qid);
  }
  if (perQuery.size === 0) throw new InvalidArgumentError('run', 'no query has both results and judgments');
  const unretrieved = [...qrels.keys()].filter((qid) => !rankings.has(qid));
  return { settings, mean: meanOf(perQuery.values()), perQuery, unjudged, unretrieved, withoutRelevant };
}

/** Evaluates a scored run the way trec_eval does: see the module comment. */
export function evaluateRun(qrels: Qrels, run: Run, options: MetricOptions = {}): RunEvaluation {
  const rankings = new Map<string, string[]>();
  for (const [qid, docs] of run) rankings.set(qid, trecRanking(docs, qid));
  return evaluateRankings(qrels, rankings, options);
}

/** Mean of each measure; queries are summed in iteration order, as trec_eval accumulates them. */
export function meanOf(values: Iterable<MetricValues>): MetricValues {
  const sum: MetricValues = { ndcg: 0, mrr: 0, recall: 0 };
  let n = 0;
  for (const v of values) {
    sum.ndcg += v.ndcg;
    sum.mrr += v.mrr;
    sum.recall += v.recall;
    n++;
  }
  return n === 0
    ? { ndcg: NaN, mrr: NaN, recall: NaN }
    : { ndcg: sum.ndcg / n, mrr: sum.mrr / n, recall: sum.recall / n };
}
