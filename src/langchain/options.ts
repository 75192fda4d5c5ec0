import type { DocumentInterface } from '@langchain/core/documents';
import type { CrossEncoderOptions, Scorer } from '../cross-encoder.js';
import type { RankFields } from '../documents/render.js';
import type { Activation, ScoringStats } from '../types.js';
import type { FusionOptions } from './fusion.js';

// The reranker's public options and results, apart from the class so each reads on its own.

/** Loading options of the engine that only apply when the reranker loads the model itself. */
export type LoadOptions = Omit<CrossEncoderOptions, 'batchSize' | 'activation' | 'maxLength' | 'instruction'>;

/** How a {@link CrossEncoderReranker} loads its model and picks documents. */
export interface CrossEncoderRerankerOptions extends LoadOptions {
  /**
   * A hub id or local model folder to load on first use, or an already-built scorer (e.g. a `CrossEncoder`)
   * shared between rerankers; a scorer passed in is never disposed by the reranker. A string that is not written as
   * a path (`/`, `./`, `../`, `~/`, a drive letter or a URL) must be a well-formed hub id (`owner/name`), checked
   * here rather than at the first call.
   * @default DEFAULT_MODEL ('Xenova/ms-marco-MiniLM-L-6-v2')
   */
  model?: string | Scorer;
  /**
   * How many documents `compressDocuments` and `rerank` return at most: a positive integer. `0` is refused, as
   * Cohere's rerank API refuses `top_n: 0`; to skip reranking, leave the compressor out.
   * @default 3
   */
  topN?: number;
  /**
   * Pairs per forward pass.
   * @default the scorer's own setting (32 for a `CrossEncoder`)
   */
  batchSize?: number;
  /**
   * Longest (query, document) pair in tokens; longer pairs are truncated. Only for a model the reranker loads.
   * @default the model's maximum
   */
  maxLength?: number;
  /**
   * How logits become scores; see `CrossEncoderOptions.activation`. Applies when the scorer is a `CrossEncoder`.
   * @default 'auto'
   */
  activation?: Activation;
  /**
   * The task description for a reranker on a language model (Qwen3-Reranker and its kin); see
   * `CrossEncoderOptions.instruction`. Passed with every call, so it also applies to a shared `CrossEncoder`.
   * @default the model's own
   */
  instruction?: string;
  /**
   * Documents scoring below this (after activation) are dropped, even when fewer than `topN` remain.
   * @default undefined (no threshold)
   */
  minScore?: number;
  /**
   * Longest one `compressDocuments` or `rerank` call may take in milliseconds: waiting for the model to load,
   * waiting behind other calls and scoring, all included. Past it the call rejects with an `AbortError` saying it
   * timed out and the model stops at its next batch boundary; a load in progress carries on for later calls.
   * `rerank` can override it per call.
   * @default no limit
   */
  timeoutMs?: number;
  /**
   * Most windows a document longer than the model's window is split into (Cohere's `maxChunksPerDoc`): each window
   * holds the query and an overlapping stretch of the document, the document scores as its best window, and
   * `metadata.chunk` says which window that was. `1` truncates long documents instead. Scoring cost grows with the
   * windows scored. Needs a `CrossEncoder`; other scorers ignore it.
   * @default 1
   */
  maxChunksPerDoc?: number;
  /**
   * Document tokens per window when documents are split.
   * @default all the room the query leaves in the model's window
   */
  chunkTokens?: number;
  /**
   * Tokens from one window's start to the next when documents are split.
   * @default half a window
   */
  chunkStride?: number;
  /**
   * Blends the cross-encoder's order with the first stage's (the input order, which is the retriever's ranking in a
   * ContextualCompressionRetriever): `{ method: 'rrf' }`, or `{ method: 'weighted', scoreKey }` with the first-stage
   * score read from `metadata[scoreKey]`. `metadata.relevanceScore` is then the fused score and
   * `metadata.crossEncoderScore` the model's own.
   * @default undefined (the cross-encoder's order alone)
   */
  fusion?: FusionOptions;
  /**
   * Milliseconds a call may spend scoring, model loading included. Documents are scored in input order, a batch at a
   * time, until the budget is spent; the ones left follow the scored ones in input order with
   * `metadata.reranked: false`. A call overruns the budget by at most the batch in progress. At most 2^31-1 ms.
   * @default no budget (every document is scored)
   */
  budgetMs?: number;
  /**
   * What a call does when the model fails to load, scoring fails or `timeoutMs` passes: `'throw'` rejects;
   * `'first-stage'` returns the first `topN` documents in input order with `metadata.reranked: false` and reports the
   * error through `onStats` and the callbacks (a `cross_encoder_fallback` custom event). A caller's abort or
   * `dispose()` still rejects.
   * @default 'throw'
   */
  fallback?: 'throw' | 'first-stage';
  /**
   * Called after every call with what it cost: documents, documents scored, pairs, truncated pairs, windows, padded
   * tokens, and milliseconds loading, queued, tokenizing and in inference. The same figures go to the callbacks as a
   * `cross_encoder_stats` custom event, so they appear in traces of the retriever run.
   * @default undefined
   */
  onStats?: (stats: RerankStats) => void;
  /**
   * What of a structured document the model reads (Cohere's `rank_fields`): field names, rendered as `field: value`
   * lines in the order given, or a function returning the text to score. A Document is read as its metadata fields
   * plus `pageContent`; a record passed to `rerank` as itself. Without it a Document is its `pageContent` and a record
   * without a string `pageContent` is all its fields as YAML-like `key: value` lines. `rerank` can override it.
   * @default undefined (pageContent, or every field of a record)
   */
  rankFields?: RankFields;
}

/**
 * What one reranking call cost. The engine's counts and stage times are present when the scorer reports them (a
 * `CrossEncoder` does), summed over the batches a budget scored one by one.
 */
export interface RerankStats extends Partial<ScoringStats> {
  /** Documents given. */
  documents: number;
  /** Documents the cross-encoder scored; fewer than `documents` when a budget ran out or the call fell back. */
  reranked: number;
  /** Waiting for the model to load. */
  loadMs: number;
  /** The whole call. */
  totalMs: number;
  /** Why the call fell back to the first-stage order, when it did. */
  fallback?: {
    /** The error's `code`, e.g. `INFERENCE_FAILED`; `UNKNOWN` for an error without one. */
    code: string;
    /** The error's message. */
    message: string;
  };
}

/** One result of {@link CrossEncoderReranker.rerank}. */
export interface RerankResult {
  /** Position in the documents given. */
  index: number;
  /** The cross-encoder's score, or the fused score with `fusion`; `NaN` for a document left unscored. */
  relevanceScore: number;
  /** Present when a budget or fallback is set: whether the cross-encoder scored this document. */
  reranked?: boolean;
  /** The window that scored, when the document was split into windows. */
  chunk?: number;
}

/** Per-call options of {@link CrossEncoderReranker.rerank}, named as CohereRerank names them. */
export interface CrossEncoderRerankOptions {
  /**
   * How many results to return at most: a positive integer.
   * @default the reranker's `topN`
   */
  topN?: number;
  /**
   * A hub id or local model folder to rank with in this call, as CohereRerank's per-call `model`: loaded on first use
   * with the reranker's loading options and kept for later calls. At most 4 such models (`PER_CALL_MODELS`) stay
   * loaded; naming one more disposes the least recently used (once no call is using it). `dispose()` frees them all.
   * @default the reranker's model
   */
  model?: string;
  /**
   * Most windows a long document is split into in this call; see the reranker's `maxChunksPerDoc`.
   * @default the reranker's `maxChunksPerDoc`
   */
  maxChunksPerDoc?: number;
  /**
   * What of a structured document the model reads in this call; see the reranker's `rankFields`.
   * @default the reranker's `rankFields`
   */
  rankFields?: RankFields;
  /**
   * Drop results scoring below this.
   * @default the reranker's `minScore`
   */
  minScore?: number;
  /** Stops scoring between batches; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /**
   * Longest this call may take in milliseconds, model loading included.
   * @default the reranker's `timeoutMs`
   */
  timeoutMs?: number;
}

/**
 * What `rerank` accepts per document: what CohereRerank accepts (a Document, a string, a record with `pageContent`),
 * and any record, read through `rankFields` or rendered as `key: value` lines.
 */
export type RerankInput = DocumentInterface | string | Record<string, unknown>;
