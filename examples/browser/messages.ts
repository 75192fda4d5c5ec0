// What the search worker tells the page, and what the page's server tells both: the example's only contract
// between its main thread (rendering) and its worker (models and search).

/** `config.json` beside the page, written by examples/browser/build.ts. */
export interface ExampleConfig {
  /** URL path of the embedding model's folder. */
  embeddings: string;
  /** URL path of the reranker's folder. */
  reranker: string;
  /** Why that reranker, in one line for the page. */
  rerankerNote: string;
  /** URL path of the notes folder, and the file names in it (sorted, as the Node example reads them). */
  docsPath: string;
  docs: string[];
  /** Candidates from the vector search, and how many of each ranking are shown. */
  k: number;
  top: number;
}

/** One document in a ranking. `cosine` is the vector search's similarity; `score` the reranker's. */
export interface RankedDoc {
  id: string;
  cosine: number;
  score?: number;
  /** 1-based place in the vector search's list (reranked rows only). */
  was?: number;
  snippet: string;
}

export interface QueryResult {
  id: string;
  text: string;
  relevant: string;
  firstStageMs: number;
  secondStageMs: number;
  /** The vector search's candidates, best first (all `k` of them). */
  candidates: RankedDoc[];
  /** The reranker's top `top`, best first. */
  reranked: RankedDoc[];
}

export type WorkerMessage =
  | { type: 'status'; text: string }
  | {
      type: 'ready';
      embeddings: string;
      reranker: string;
      rerankerNote: string;
      documents: number;
      loadMs: { embeddings: number; reranker: number };
      indexMs: number;
    }
  | { type: 'query'; result: QueryResult }
  | { type: 'done'; totalMs: number }
  | { type: 'error'; message: string };
