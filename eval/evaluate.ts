/**
 * Reranking evaluation: take a first stage's candidates for each judged query, measure them,
 * rerank the top k with a {@link Scorer}, measure again.
 */
import { AbortError, InvalidArgumentError } from '../src/index.js';
import type { Scorer } from '../src/index.js';
import { Bm25Index, type Bm25Options } from './bm25.js';
import { type Dataset, defaultRelevanceThreshold, passageText } from './datasets.js';
import {
  evaluateRankings,
  type MetricSettings,
  type MetricValues,
  trecRanking,
  type Run,
  type ScoredDoc,
} from './metrics.js';

/**
 * A first stage computed by the caller: the candidates for one query, in any order (they are
 * put in trec_eval order: score descending, then id descending). This is the extension point
 * for dense retrieval: embed the corpus once, then return the nearest documents here.
 */
export type FirstStageFunction = (
  query: { id: string; text: string },
  depth: number,
) => Promise<readonly ScoredDoc[]> | readonly ScoredDoc[];

/** A precomputed run (e.g. from `readTrecRun`), BM25 over the dataset's corpus, or a function. */
export type FirstStage = Run | 'bm25' | FirstStageFunction;

/** Options for {@link evaluateReranking}. */
export interface EvaluateRerankingOptions {
  dataset: Dataset;
  firstStage: FirstStage;
  /** Reranks the first stage's top `topK` when given; without it only the first stage is measured. */
  scorer?: Scorer;
  /** How many first-stage candidates to rerank. @default 100 */
  topK?: number;
  /** How many candidates a BM25 or function first stage retrieves. @default max(topK, 100) */
  depth?: number;
  /** Judgment at or above which MRR and Recall count a document as relevant. @default defaultRelevanceThreshold(dataset.name): 2 for TREC DL, else 1 */
  relevanceThreshold?: number;
  /** Evaluate only the first N judged queries (in queries.jsonl order). @default all */
  maxQueries?: number;
  /** BM25 parameters when `firstStage` is `'bm25'`. @default Anserini's k1 = 0.9, b = 0.4 */
  bm25?: Bm25Options;
  /** Pairs per forward pass, passed to the scorer. @default the scorer's own */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each query is done. */
  onProgress?: (done: number, total: number) => void;
  /** Keep each query's first-stage candidates (trec_eval order, with scores) in the report. @default false */
  keepCandidates?: boolean;
}

/** Measures of one stage. */
export interface StageReport {
  mean: MetricValues;
  perQuery: Record<string, MetricValues>;
}

/** The result of {@link evaluateReranking}. Plain data: `JSON.stringify` gives the full record. */
export interface RerankingReport {
  dataset: { name: string; dir: string; split: string; documents: number; queries: number; judgedQueries: number };
  settings: MetricSettings & {
    firstStage: string;
    topK: number;
    depth: number;
    /** The most first-stage candidates any evaluated query kept; recall cannot look deeper than this. */
    candidatesKept: number;
    maxQueries: number | null;
    reranked: boolean;
  };
  /** Query ids evaluated, in order. */
  queries: string[];
  /** Judged queries skipped: no text in queries.jsonl, or no candidates from the first stage (trec_eval skips the latter too). */
  skipped: { noText: string[]; noCandidates: string[] };
  /** Evaluated queries with no judgment >= the threshold: MRR and Recall are 0 for them. */
  withoutRelevant: string[];
  /** Candidates in the reranked top-k whose id is not in the corpus: dropped before reranking. */
  missingFromCorpus: { candidates: number; queries: number };
  firstStage: StageReport;
  reranked?: StageReport;
  /** With `keepCandidates`: query id → first-stage candidates in trec_eval order. */
  candidates?: Record<string, ScoredDoc[]>;
  /** `corpusEmbeddingMs`: the part of `firstStageMs` spent embedding the corpus, when a dense first stage did. */
  timings: { firstStageMs: number; rerankMs: number; totalMs: number; pairs: number; corpusEmbeddingMs?: number };
}

/**
 * Measures nDCG@10, MRR@10 and Recall@100 of the first stage and, with a `scorer`, of its top
 * `topK` reranked by `scorer.rank(query, passages)`. Deterministic given a deterministic scorer.
 *
 * Reranked lists are the reranked top-k (order from `scorer.rank`, whose ties keep first-stage
 * order) followed by the rest of the first stage unchanged, so Recall@100 stays comparable when
 * topK < 100. Candidates missing from the corpus cannot be scored and are removed from the
 * reranked list (counted in `missingFromCorpus`); the first-stage measures keep them.
 */
export async function evaluateReranking(options: EvaluateRerankingOptions): Promise<RerankingReport> {
  const started = performance.now();
  const { dataset, scorer, signal } = options;
  const topK = positiveInt('topK', options.topK ?? 100);
  const depth = positiveInt('depth', options.depth ?? Math.max(topK, 100));
  const maxQueries = options.maxQueries === undefined ? null : positiveInt('maxQueries', options.maxQueries);
  const relevanceThreshold = options.relevanceThreshold ?? defaultRelevanceThreshold(dataset.name);

  // Judged queries in queries.jsonl order, then judged queries the file lacks.
  const judged = [...new Set([...dataset.queries.keys(), ...dataset.qrels.keys()])].filter((q) => dataset.qrels.has(q));
  const noText = judged.filter((q) => !dataset.queries.has(q));
  let queries = judged.filter((q) => dataset.queries.has(q));
  if (maxQueries !== null) queries = queries.slice(0, maxQueries);

  let t = performance.now();
  const retrieve = firstStageRetriever(options.firstStage, dataset, options.bm25);
  const firstStage = new Map<string, string[]>();
  const candidates: Record<string, ScoredDoc[]> = {};
  const noCandidates: string[] = [];
  for (const qid of queries) {
    const docs = await retrieve({ id: qid, text: dataset.queries.get(qid)! }, depth);
    if (docs === undefined || docs.length === 0) noCandidates.push(qid);
    else {
      const ranking = trecRanking(docs, qid);
      firstStage.set(qid, ranking);
      if (options.keepCandidates) {
        const score = new Map(docs.map((d) => [d.id, d.score]));
        candidates[qid] = ranking.map((id) => ({ id, score: score.get(id)! }));
      }
    }
  }
  queries = queries.filter((q) => firstStage.has(q));
  if (queries.length === 0)
    throw new InvalidArgumentError('firstStage', `no judged query of ${dataset.name} has first-stage candidates`);
  const firstStageMs = performance.now() - t;

  const metricOptions = { relevanceThreshold };
  const first = evaluateRankings(dataset.qrels, firstStage, metricOptions);
  let reranked: RunEvaluationLike | undefined;
  let missing = 0;
  const queriesWithMissing = new Set<string>();
  let pairs = 0;
  t = performance.now();
  if (scorer) {
    const rerankings = new Map<string, string[]>();
    for (const [i, qid] of queries.entries()) {
      if (signal?.aborted) throw new AbortError();
      const ranking = firstStage.get(qid)!;
      const head = ranking.slice(0, topK).filter((id) => {
        if (dataset.corpus.has(id)) return true;
        missing++;
        queriesWithMissing.add(qid);
        return false;
      });
      const passages = head.map((id) => passageText(dataset.corpus.get(id)!));
      const results =
        passages.length === 0
          ? []
          : await scorer.rank(dataset.queries.get(qid)!, passages, { signal, batchSize: options.batchSize });
      if (results.length !== head.length)
        throw new InvalidArgumentError(
          'scorer',
          `rank() returned ${results.length} results for ${head.length} documents`,
        );
      pairs += head.length;
      rerankings.set(qid, [...results.map((r) => head[r.index]!), ...ranking.slice(topK)]);
      options.onProgress?.(i + 1, queries.length);
    }
    reranked = evaluateRankings(dataset.qrels, rerankings, metricOptions);
  } else {
    options.onProgress?.(queries.length, queries.length);
  }
  const rerankMs = performance.now() - t;

  return {
    dataset: {
      name: dataset.name,
      dir: dataset.dir,
      split: dataset.split,
      documents: dataset.corpus.size,
      queries: dataset.queries.size,
      judgedQueries: dataset.qrels.size,
    },
    settings: {
      ...first.settings,
      firstStage: describeFirstStage(options.firstStage),
      topK,
      depth,
      candidatesKept: Math.max(...queries.map((q) => firstStage.get(q)!.length)),
      maxQueries,
      reranked: scorer !== undefined,
    },
    queries,
    skipped: { noText, noCandidates },
    withoutRelevant: first.withoutRelevant,
    missingFromCorpus: { candidates: missing, queries: queriesWithMissing.size },
    firstStage: stageReport(first),
    ...(reranked ? { reranked: stageReport(reranked) } : {}),
    ...(options.keepCandidates ? { candidates } : {}),
    timings: { firstStageMs, rerankMs, totalMs: performance.now() - started, pairs },
  };
}

type RunEvaluationLike = ReturnType<typeof evaluateRankings>;

function stageReport(evaluation: RunEvaluationLike): StageReport {
  return { mean: evaluation.mean, perQuery: Object.fromEntries(evaluation.perQuery) };
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError(name, `must be a positive integer, got ${value}`);
  return value;
}

function describeFirstStage(firstStage: FirstStage): string {
  if (firstStage === 'bm25') return 'bm25';
  if (typeof firstStage === 'function') return firstStage.name ? `function ${firstStage.name}` : 'function';
  return 'run';
}

type Retriever = (query: { id: string; text: string }, depth: number) => Promise<readonly ScoredDoc[] | undefined>;

function firstStageRetriever(firstStage: FirstStage, dataset: Dataset, bm25?: Bm25Options): Retriever {
  if (firstStage === 'bm25') {
    const index = Bm25Index.build(
      (function* () {
        for (const doc of dataset.corpus.values()) yield { id: doc.id, text: passageText(doc) };
      })(),
      bm25,
    );
    return async (query, depth) => index.search(query.text, depth);
  }
  if (typeof firstStage === 'function') return async (query, depth) => firstStage(query, depth);
  if (firstStage instanceof Map) return async (query) => firstStage.get(query.id);
  throw new InvalidArgumentError(
    'firstStage',
    "must be a run (a Map of query id to scored documents), 'bm25' or a function",
  );
}
