/** How raw model outputs become scores. `'auto'` follows the model: see `CrossEncoderOptions.activation`. */
export type Activation = 'auto' | 'sigmoid' | 'softmax' | 'none';

/** A (query, passage) pair, the unit a cross-encoder reads. */
export type TextPair = readonly [query: string, passage: string];

/** Options for one scoring call. */
export interface ScoreOptions {
  /** Pairs per forward pass; overrides the model's own setting for this call only. */
  batchSize?: number;
  /** Stops the call between batches; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /**
   * Longest the call may take in milliseconds, time waiting behind other calls included. Past it, the promise
   * rejects with an `AbortError` saying it timed out, and the model stops at its next batch boundary.
   * @default no limit
   */
  timeoutMs?: number;
}

/** Options for {@link Scorer.rank}. */
export interface RankOptions extends ScoreOptions {
  /** Keep only the best `topK` results. Defaults to all documents. */
  topK?: number;
}

/** One ranked document: its position in the caller's list and its score. */
export interface RankResult {
  /** Position in the documents given. */
  index: number;
  /** The score, higher is more relevant. */
  score: number;
  /**
   * Which window of the document gave its score, from 0, when the document was longer than the model's window and
   * split into chunks (`maxChunksPerDoc` above 1); absent otherwise.
   */
  chunk?: number;
}

/** What one scoring call cost: counts, and milliseconds per stage. */
export interface ScoringStats {
  /** (query, document) pairs scored. */
  pairs: number;
  /** Pairs that lost tokens: cut to the window, or longer than all the windows they were given. */
  truncatedPairs: number;
  /** Windows scored: one per pair, more for documents split into chunks. */
  chunks: number;
  /** Tokens fed to the model, padding included (each forward pass is as wide as its longest window). */
  paddedTokens: number;
  /** Waiting behind other calls before this one started. */
  queuedMs: number;
  /** Turning text into token ids. */
  tokenizeMs: number;
  /** In the model's forward passes. */
  inferenceMs: number;
}
